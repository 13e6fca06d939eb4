package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// instance is one row of `devcluster ps --json`: only the fields the soak reads, so that
// the soak also checks the JSON contract scripts rely on.
type instance struct {
	ID       string `json:"id"`
	Process  string `json:"process"`
	Index    int    `json:"index"`
	Port     int    `json:"port"`
	PID      int    `json:"pid"`
	State    string `json:"state"`
	Balancer *struct {
		State  string `json:"state"`
		Active int64  `json:"active"`
	} `json:"balancer"`
}

// inRotation is the supervisor's and the balancer's agreement that the instance serves:
// ready, with a process, and (when ps shows the balancer's view) up in the proxy.
func (in instance) inRotation() bool {
	return in.State == "ready" && in.PID > 0 && (in.Balancer == nil || in.Balancer.State == "up")
}

// active is the balancer's count of requests in flight on the instance, -1 when ps
// does not show the balancer's view.
func (in instance) active() int64 {
	if in.Balancer == nil {
		return -1
	}
	return in.Balancer.Active
}

type status struct {
	PID       int        `json:"pid"`
	Instances []instance `json:"instances"`
}

// cluster is one `devcluster up` started by the soak, and the CLI commands run against it
// from its directory.
type cluster struct {
	cfg     *Config
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	waitErr error
	stdout  *os.File
	unread  *os.File // with UnreadStdout: the read end of devcluster's stdout
	stderr  *os.File
	stopped bool
	// seen holds every instance process ps ever showed, and the members of their
	// process groups, by pid with its start time (pids wrap at 32768 on Linux by
	// default, and every CLI call of the soak takes one).
	seen map[int]string
}

// startCluster starts `devcluster up` in cfg's app directory and waits (60 s at most: a
// cold Flask start under a loaded machine) until the three instances are ready and the
// proxy answers.
func startCluster(ctx context.Context, cfg *Config) (*cluster, error) {
	c := &cluster{cfg: cfg, done: make(chan struct{}), seen: map[int]string{}}
	var err error
	if c.stdout, err = os.Create(filepath.Join(cfg.WorkDir, "devcluster.out")); err != nil {
		return nil, err
	}
	if c.stderr, err = os.Create(filepath.Join(cfg.WorkDir, "devcluster.err")); err != nil {
		c.stdout.Close()
		return nil, err
	}
	args := []string{"up", "-f", "Procfile", "-m", "web=3", "--port", strconv.Itoa(cfg.BasePort), "--listen", cfg.listenAddr()}
	if cfg.Standby {
		args = append(args, "--standby")
	}
	c.cmd = exec.Command(cfg.Devcluster, args...)
	c.cmd.Dir = cfg.appDir()
	c.cmd.Env = cfg.env()
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	var unreadW *os.File
	if cfg.UnreadStdout {
		args = append(args, "--access-log")
		c.cmd.Args = append([]string{cfg.Devcluster}, args...)
		if c.unread, unreadW, err = os.Pipe(); err != nil {
			c.closeLogs()
			return nil, err
		}
		c.cmd.Stdout = unreadW
	}
	stopWithUs(c.cmd)
	err = c.cmd.Start()
	if unreadW != nil {
		unreadW.Close() // devcluster holds the only write end
	}
	if err != nil {
		c.closeLogs()
		return nil, fmt.Errorf("start %s up: %w", cfg.Devcluster, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	cfg.logf("devcluster up (pid %d): web=3 on ports %d-%d, proxy %s", c.cmd.Process.Pid, cfg.BasePort, cfg.BasePort+2, cfg.listenAddr())
	err = c.settle(ctx, 3, 60*time.Second)
	if err == nil {
		err = c.proxyAnswers(ctx, 30*time.Second)
	}
	if err != nil {
		c.abort()
		return nil, fmt.Errorf("the cluster did not start: %w\n%s", err, c.tail())
	}
	return c, nil
}

// closeLogs closes devcluster's log files (a second close is harmless: its error is
// ignored, the files are only read by name afterwards).
func (c *cluster) closeLogs() {
	c.stdout.Close()
	c.stderr.Close()
	if c.unread != nil {
		c.unread.Close()
	}
}

// readUnread starts reading the stdout the soak left unread into
// devcluster.out; the channel is closed at its end of file (devcluster gone).
func (c *cluster) readUnread() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(c.stdout, c.unread)
	}()
	return done
}

// droppedMarker is linebuf's line for lines dropped while the reader was behind.
var droppedMarker = regexp.MustCompile(`\[devcluster: (\d+) lines dropped, reader too slow\]`)

// countDropped adds up the dropped-lines markers in devcluster.out.
func (c *cluster) countDropped() (markers int, lines int64) {
	data, _ := os.ReadFile(c.stdout.Name())
	for _, m := range droppedMarker.FindAllSubmatch(data, -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		markers++
		lines += n
	}
	return markers, lines
}

func (c *cluster) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// run runs one devcluster CLI command against the cluster (from its directory, 60 s at
// most) and returns its standard output.
func (c *cluster) run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cfg.Devcluster, args...)
	cmd.Dir = c.cfg.appDir()
	cmd.Env = c.cfg.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("devcluster %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// ps is `devcluster ps --json`, limited to the web process.
func (c *cluster) ps(ctx context.Context) (status, error) {
	out, err := c.run(ctx, "ps", "--json")
	if err != nil {
		return status{}, err
	}
	var st status
	if err := json.Unmarshal(out, &st); err != nil {
		return status{}, fmt.Errorf("devcluster ps --json: %v in %q", err, out)
	}
	web := st.Instances[:0]
	for _, in := range st.Instances {
		if in.Process == "web" {
			web = append(web, in)
		}
		if in.PID > 0 {
			c.remember(in.PID)
		}
	}
	st.Instances = web
	return st, nil
}

// settle waits until the cluster has exactly n web instances, all in rotation, and
// returns them; the error says what the last ps showed.
func (c *cluster) settle(ctx context.Context, n int, timeout time.Duration) error {
	_, err := c.waitPS(ctx, timeout, func(st status) bool {
		if len(st.Instances) != n {
			return false
		}
		for _, in := range st.Instances {
			if !in.inRotation() {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("want web=%d all ready and in rotation: %w", n, err)
	}
	return nil
}

// waitPS polls ps (every 50 ms, until timeout) until cond holds.
func (c *cluster) waitPS(ctx context.Context, timeout time.Duration, cond func(status) bool) (status, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if c.exited() {
			return status{}, fmt.Errorf("devcluster up exited (%v)", c.waitErr)
		}
		st, err := c.ps(ctx)
		if err == nil && cond(st) {
			return st, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = describe(st)
		}
		if ctx.Err() != nil {
			return st, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("not within %s (last ps: %s)", timeout, last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describe is a one-line summary of ps for error messages: "web.1 ready/up pid 12, …".
func describe(st status) string {
	var parts []string
	for _, in := range st.Instances {
		s := fmt.Sprintf("%s %s", in.ID, in.State)
		if in.Balancer != nil {
			s += "/" + in.Balancer.State
		}
		parts = append(parts, fmt.Sprintf("%s pid %d", s, in.PID))
	}
	if len(parts) == 0 {
		return "no web instance"
	}
	return strings.Join(parts, ", ")
}

func (c *cluster) proxyAnswers(ctx context.Context, timeout time.Duration) error {
	url := "http://" + c.cfg.listenAddr() + "/"
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		body, _, err := get(ctx, url)
		if err == nil {
			return nil
		}
		last = err.Error() + " " + body
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("GET %s: no 2xx within %s (last: %s)", url, timeout, last)
}

// tail is the end of devcluster's own output (stderr), for error messages.
func (c *cluster) tail() string {
	data, _ := os.ReadFile(c.stderr.Name())
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "devcluster's last lines (" + c.stderr.Name() + "):\n    " + strings.Join(lines, "\n    ")
}

// remember adds pid, and the other members of its process group, to c.seen.
func (c *cluster) remember(pid int) {
	if _, ok := c.seen[pid]; ok {
		return
	}
	if t := startTime(pid); t != "" {
		c.seen[pid] = t
	}
	if g, err := syscall.Getpgid(pid); err == nil && g == pid {
		for _, p := range groupMembers(pid) {
			if t := startTime(p); t != "" && c.seen[p] == "" {
				c.seen[p] = t
			}
		}
	}
}

// StopResult is how `devcluster up` ended after SIGINT, and what it left behind.
type StopResult struct {
	Took      time.Duration
	ExitErr   string   // "" for exit status 0
	Leftovers []string // "pid 123 (python3 …)", "port 24002 still accepts connections"
	Checked   int      // processes checked after the stop
	// With UnreadStdout: the stdout read at the stop, its dropped-lines markers
	// and the lines they count.
	Unread         bool
	StdoutBytes    int64
	DroppedMarkers int
	DroppedLines   int64
}

// stop sends SIGINT (as Ctrl-C does) and waits 30 s for devcluster to exit; then every
// process it ran that the soak saw (every instance ps showed, and their process groups'
// members) must be gone, and every port it used free.
func (c *cluster) stop(ctx context.Context) StopResult {
	var res StopResult
	if st, err := c.ps(ctx); err == nil {
		for _, in := range st.Instances { // the newest group members too
			if in.PID > 0 {
				delete(c.seen, in.PID)
				c.remember(in.PID)
			}
		}
	}
	var read <-chan struct{}
	if c.unread != nil {
		// Read now, so that devcluster's last lines (and the count of those it
		// dropped) come out before it exits.
		read = c.readUnread()
	}
	start := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		res.ExitErr = "still running 30 s after SIGINT (killed)"
		c.abort()
	}
	c.stopped = true
	if read != nil {
		select {
		case <-read:
		case <-time.After(5 * time.Second): // a leftover holding the pipe: reported below
		}
		res.Unread = true
		if fi, err := c.stdout.Stat(); err == nil {
			res.StdoutBytes = fi.Size()
		}
		res.DroppedMarkers, res.DroppedLines = c.countDropped()
	}
	res.Took = time.Since(start)
	if res.ExitErr == "" && c.waitErr != nil {
		res.ExitErr = c.waitErr.Error()
	}
	res.Checked = len(c.seen)
	res.Leftovers = leftovers(c.seen, c.cfg.ports())
	c.closeLogs()
	return res
}

// abort ends a cluster that must not stay: SIGKILL devcluster and every process group
// it led (its instances), so that a failed soak leaves nothing running.
func (c *cluster) abort() {
	if c.stopped {
		return
	}
	c.stopped = true
	groups := groupsOf(c.cmd.Process.Pid)
	_ = c.cmd.Process.Kill()
	<-c.done
	for _, g := range groups {
		_ = syscall.Kill(-g, syscall.SIGKILL)
	}
	c.closeLogs()
}

// portsMu serialises port picking within one process (two soaks in one test binary).
var portsMu sync.Mutex
