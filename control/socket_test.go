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
	"testing"
)

func TestListenPermissions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A pre-existing, too open directory is tightened too.
	if err := os.Mkdir(filepath.Join(dir, RuntimeDir), 0o755); err != nil {
		t.Fatal(err)
	}
	path := SocketPath(dir)
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	tests := []struct {
		path     string
		wantMode fs.FileMode
		wantType fs.FileMode
	}{
		{filepath.Join(dir, RuntimeDir), 0o700, fs.ModeDir},
		{path, 0o600, fs.ModeSocket},
		{filepath.Join(dir, RuntimeDir, pidName), 0o600, 0},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			fi, err := os.Lstat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.wantMode {
				t.Errorf("got mode %v, want %v", got, tt.wantMode)
			}
			if got := fi.Mode().Type(); got != tt.wantType {
				t.Errorf("got type %v, want %v", got, tt.wantType)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(dir, RuntimeDir, pidName))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("got pid file %q (%v), want %d", b, err, os.Getpid())
	}
}

func TestListenCloseCleansUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := SocketPath(dir)
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, p := range []string{path, filepath.Join(dir, RuntimeDir, pidName)} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v for %s after Close, want it removed", err, p)
		}
	}
	// The lock was released: the next run listens.
	ln, err = Listen(path)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	ln.Close()
}

func TestListenRefusesLiveCluster(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	ln, err := Listen(s.path)
	if err == nil {
		ln.Close()
		t.Fatal("second Listen succeeded, want a refusal")
	}
	want := fmt.Sprintf(`a cluster is already running in %s (pid %d, proxy on 127.0.0.1:8080); stop it with "devcluster down" or use it`, s.dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("got %v, want errors.Is ErrAlreadyRunning", err)
	}
	// The refusal left the live cluster alone.
	if _, err := s.client.Status(context.Background()); err != nil {
		t.Errorf("Status after refused Listen: %v", err)
	}
}

// A cluster that holds the lock but does not serve yet is still refused, with
// the pid from the pid file.
func TestListenRefusesLockedNotServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := Listen(SocketPath(dir))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	_, err = Listen(SocketPath(dir))
	want := fmt.Sprintf(`a cluster is already running in %s (pid %d); stop it with "devcluster down" or use it`, dir, os.Getpid())
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// What a killed run leaves: a socket file nobody listens on.
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()
	if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v dialling the stale socket, want ErrNotRunning", err)
	}

	s := serveFake(t, dir)
	if _, err := s.client.Status(context.Background()); err != nil {
		t.Errorf("Status on the replacing cluster: %v", err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(path)
	if err == nil {
		ln.Close()
		t.Fatal("Listen replaced a regular file, want a refusal")
	}
	if want := path + " exists and is not a socket; remove it"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
	if b, _ := os.ReadFile(path); string(b) != "notes" {
		t.Errorf("got file content %q, want it untouched", b)
	}
}

// Two `devcluster up` started together: exactly one listens.
func TestListenRace(t *testing.T) {
	t.Parallel()
	path := SocketPath(t.TempDir())
	const n = 4
	var wg sync.WaitGroup
	lns := make([]net.Listener, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { lns[i], errs[i] = Listen(path) })
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] == nil {
			won++
			defer lns[i].Close()
		} else if !errors.Is(errs[i], ErrAlreadyRunning) {
			t.Errorf("got %v, want ErrAlreadyRunning", errs[i])
		}
	}
	if won != 1 {
		t.Errorf("got %d listeners, want 1", won)
	}
}

func TestLongSocketPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), strings.Repeat("deep-project-directory/", 6))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(SocketPath(dir)) <= maxSockPath {
		t.Fatalf("got path of %d bytes, want more than %d for this test", len(SocketPath(dir)), maxSockPath)
	}
	s := serveFake(t, dir)
	if _, err := s.client.Status(context.Background()); err != nil {
		t.Errorf("Status over a long socket path: %v", err)
	}
	if fi, err := os.Lstat(s.path); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("got %v, %v for the socket at its real path, want a 0600 socket", fi, err)
	}
}

func TestDialNothingRunning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		wantFmt string
	}{
		{"no socket", func(*testing.T, string) {},
			`no devcluster is running in %s (no .devcluster/control.sock); start one with "devcluster up"`},
		{"stale socket", func(t *testing.T, path string) {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			ln.SetUnlinkOnClose(false)
			ln.Close()
		}, `no devcluster is running in %s (stale .devcluster/control.sock left by a run that ended: connection refused); start one with "devcluster up"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := SocketPath(dir)
			tt.setup(t, path)
			c, err := Dial(path)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			if want := fmt.Sprintf(tt.wantFmt, dir); err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
			if !errors.Is(err, ErrNotRunning) {
				t.Errorf("got %v, want errors.Is ErrNotRunning", err)
			}
		})
	}
}

func TestFindProject(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mk("procfile-app/Procfile")
	mk("procfile-app/src/pkg/x.py")
	mk("yaml-app/devcluster.yaml")
	mk("yaml-app/Procfile")
	mk("yaml-app/sub/devcluster.yml")
	mk("running/.devcluster/control.sock")
	mk("running/a/b/c.txt")
	mk("none/a/b.txt")

	tests := []struct {
		name, start, flag string
		want              string // relative to root; "" = error
	}{
		{"manifest here", "procfile-app", "", "procfile-app"},
		{"walks up", "procfile-app/src/pkg", "", "procfile-app"},
		{"nearest wins", "yaml-app/sub", "", "yaml-app/sub"},
		{"socket marks a project", "running/a", "", "running"},
		{"-f relative to start", "none/a", "../../yaml-app/devcluster.yaml", "yaml-app"},
		{"-f absolute", "none", filepath.Join(root, "procfile-app/Procfile"), "procfile-app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindProject(filepath.Join(root, tt.start), tt.flag)
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// TestFindProjectNone needs a tree with no marker up to /; /tmp could hold a
// stray Procfile, so only the message shape is checked when one is found.
func TestFindProjectNone(t *testing.T) {
	t.Parallel()
	start := t.TempDir()
	got, err := FindProject(start, "")
	if err == nil {
		t.Skipf("a project marker exists above %s (found %s); cannot test the no-project case here", start, got)
	}
	want := fmt.Sprintf("no devcluster project in %s or its parents (looked for devcluster.yaml, devcluster.yml, Procfile, .devcluster/control.sock); run from the project directory or pass -f FILE", start)
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestListenRefusesSymlinkedRuntimeDir is the regression test for a symlinked
// .devcluster being followed: Listen chmodded the link's target to 0700 and put
// the socket there. It now refuses, says why, and leaves the target alone.
func TestListenRefusesSymlinkedRuntimeDir(t *testing.T) {
	t.Parallel()
	dir, target := t.TempDir(), t.TempDir()
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, RuntimeDir)); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(SocketPath(dir))
	if err == nil {
		ln.Close()
		t.Fatal("Listen through a symlinked .devcluster succeeded, want an error")
	}
	want := fmt.Sprintf("%s is a symbolic link (to %s); devcluster keeps its control socket in a real directory: remove the link and run again",
		filepath.Join(dir, RuntimeDir), target)
	if err.Error() != want {
		t.Errorf("got error %q, want %q", err, want)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("got target mode %v, want 0755 untouched", got)
	}
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("got %d files written in the link's target, want none", len(entries))
	}
}

func TestListenRefusesRuntimeDirFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RuntimeDir), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(SocketPath(dir))
	want := filepath.Join(dir, RuntimeDir) + " exists and is not a directory; devcluster keeps its runtime files there: remove it and run again"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}
