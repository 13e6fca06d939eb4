package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Names inside the project.
const (
	RuntimeDir = ".devcluster"  // per-project runtime directory, mode 0700
	SocketName = "control.sock" // in RuntimeDir, mode 0600
	pidName    = "pid"          // in RuntimeDir: pid of the serving `devcluster up`
	lockName   = "lock"         // in RuntimeDir: flock held while a cluster serves
)

// probeTimeout bounds Listen's question to an existing socket.
const probeTimeout = 500 * time.Millisecond

// SocketPath is the control socket of the project in projectDir.
func SocketPath(projectDir string) string {
	return filepath.Join(projectDir, RuntimeDir, SocketName)
}

// projectOf is the project directory of a socket path made by SocketPath.
func projectOf(socketPath string) string {
	return filepath.Dir(filepath.Dir(socketPath))
}

// Listen creates the control socket at path (see SocketPath), its directory
// mode 0700 and the socket 0600 whatever the umask.
//
// One cluster per project: Listen holds an flock on .devcluster/lock for the
// listener's life, so two `devcluster up` racing cannot both win, and the lock
// dies with its process, so a socket left by a killed run is recognised as
// stale and replaced. While another cluster holds the lock (or answers on the
// socket), Listen fails with an *AlreadyRunningError that says how to reach it.
//
// Closing the listener removes the socket and the pid file and drops the lock.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	project := projectOf(path)
	if err := checkRuntimeDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create control directory: %w", err)
	}
	// MkdirAll leaves an existing directory alone and obeys the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict control directory: %w", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		// Keep the runtime files out of the user's commits; best effort.
		_ = os.WriteFile(ignore, []byte("# written by devcluster: runtime files, never commit them\n*\n"), 0o600)
	}

	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open control lock: %w", err)
	}
	if err := flock(lock); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, alreadyRunning(path)
		}
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	ln, err := listenLocked(path, project)
	if err != nil {
		lock.Close()
		return nil, err
	}
	pidPath := filepath.Join(dir, pidName)
	pid := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(pidPath, []byte(pid+"\n"), 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		lock.Close()
		return nil, fmt.Errorf("write pid file: %w", err)
	}
	return &listener{UnixListener: ln, path: path, pidPath: pidPath, pid: pid, lock: lock}, nil
}

// checkRuntimeDir refuses a .devcluster that is a symbolic link or not a
// directory. Followed, a link would have Listen chmod its target to 0700 and
// put the socket, lock and pid file wherever it points (another user's
// directory, a shared one).
func checkRuntimeDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control directory: %w", err)
	case fi.Mode().Type() == fs.ModeSymlink:
		to, _ := os.Readlink(dir)
		return fmt.Errorf("%s is a symbolic link (to %s); devcluster keeps its control socket in a real directory: remove the link and run again", dir, to)
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory; devcluster keeps its runtime files there: remove it and run again", dir)
	}
	return nil
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// listenLocked binds the socket; the caller holds the project lock.
func listenLocked(path, project string) (*net.UnixListener, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket; remove it", path)
	case err == nil:
		// Nobody holds the lock, so its server died; unless something
		// answers anyway (a devcluster that predates the lock), it is stale.
		if st, err := probe(path); err == nil {
			return nil, &AlreadyRunningError{Dir: project, PID: st.PID, Proxy: st.Proxy}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := listenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	// listenUnix may have bound through an alias of the path (see
	// sockaddr_linux.go); the listener's Close removes the real path instead.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("restrict control socket: %w", err)
	}
	return ln, nil
}

// alreadyRunning describes the cluster that holds the lock of path's project.
func alreadyRunning(path string) error {
	e := &AlreadyRunningError{Dir: projectOf(path)}
	if st, err := probe(path); err == nil {
		e.PID, e.Proxy = st.PID, st.Proxy
	} else if b, err := os.ReadFile(filepath.Join(filepath.Dir(path), pidName)); err == nil {
		e.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	return e
}

// probe asks whoever listens on path for its status, briefly.
func probe(path string) (Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	c := newClient(path)
	defer c.Close()
	return c.Status(ctx)
}

// listener is the control socket plus what its life holds: the lock and the
// pid file.
type listener struct {
	*net.UnixListener
	path, pidPath, pid string
	lock               *os.File
	once               sync.Once
	err                error
}

// Close stops listening, removes the socket and pid file, and drops the lock.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.err = l.UnixListener.Close()
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) && l.err == nil {
			l.err = fmt.Errorf("remove control socket: %w", err)
		}
		if b, err := os.ReadFile(l.pidPath); err == nil && strings.TrimSpace(string(b)) == l.pid {
			os.Remove(l.pidPath)
		}
		l.lock.Close() // releases the flock
	})
	return l.err
}

// notRunning turns a failure to connect to path into the error users see, or
// returns nil when err is some other failure.
func notRunning(path string, err error) error {
	project := projectOf(path)
	rel := filepath.Join(RuntimeDir, filepath.Base(path))
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &NotRunningError{Dir: project, Reason: "no " + rel}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &NotRunningError{Dir: project, Reason: "stale " + rel + " left by a run that ended: connection refused"}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("connect to devcluster in %s: permission denied on %s (it belongs to another user)", project, rel)
	}
	return nil
}

// FindProject returns the project directory for a command run in start: the
// directory of manifestFlag (the -f FILE flag, relative to start) if given,
// else the nearest of start and its parents that holds .devcluster/control.sock,
// devcluster.yaml, devcluster.yml or a Procfile. The result is absolute.
func FindProject(start, manifestFlag string) (string, error) {
	start, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find project: %w", err)
	}
	if manifestFlag != "" {
		if !filepath.IsAbs(manifestFlag) {
			manifestFlag = filepath.Join(start, manifestFlag)
		}
		return filepath.Dir(filepath.Clean(manifestFlag)), nil
	}
	markers := [...]string{filepath.Join(RuntimeDir, SocketName), "devcluster.yaml", "devcluster.yml", "Procfile"}
	for dir := start; ; {
		for _, m := range markers {
			if _, err := os.Lstat(filepath.Join(dir, m)); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("no devcluster project in %s or its parents (looked for devcluster.yaml, devcluster.yml, Procfile, %s); run from the project directory or pass -f FILE",
		start, filepath.Join(RuntimeDir, SocketName))
}
