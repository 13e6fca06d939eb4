package supervisor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"go.uber.org/goleak"
)

// helperEnv selects what TestHelperProcess does when the test binary runs as a child.
const helperEnv = "SUPERVISOR_HELPER"

// tagEnv marks every process a test starts, so the test can find leftovers in /proc.
const tagEnv = "SUPERVISOR_TEST_TAG"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain(os.Getenv(helperEnv))
		return
	}
	goleak.VerifyTestMain(m)
}

// helperMain is the child side: the test binary re-executed with SUPERVISOR_HELPER
// set (the os/exec TestHelperProcess pattern, dispatched from TestMain so no test
// flags are needed).
func helperMain(mode string) {
	if f, ok := helperModes[mode]; ok {
		f()
		return
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	os.Exit(2)
}

// helperModes are the children the tests run, by SUPERVISOR_HELPER value.
var helperModes = map[string]func(){
	"serve": func() {
		if f := os.Getenv("HELPER_BROKEN_FILE"); f != "" {
			if _, err := os.Stat(f); err == nil {
				fmt.Println("Traceback (most recent call last):")
				for i := range 7 { // the frames of a real framework's import chain
					fmt.Printf("  File \"/usr/lib/python3/flask/cli.py\", line %d, in locate_app\n", 100+i)
				}
				fmt.Println(`  File "app.py", line 3`)
				fmt.Println("SyntaxError: invalid syntax")
				os.Exit(1)
			}
		}
		if f := os.Getenv("HELPER_LISTEN_FILE"); f != "" {
			fmt.Println("waiting for", f)
			waitFile(f)
		}
		if d, _ := time.ParseDuration(os.Getenv("HELPER_START_DELAY")); d > 0 {
			time.Sleep(d)
		}
		serve()
	},
	"env": func() {
		for _, k := range []string{"PORT", "PS", "DEVCLUSTER_PROCESS", "DEVCLUSTER_INSTANCE", "PYTHONUNBUFFERED",
			"WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD", "RUN_MAIN", "FOO"} {
			v, ok := os.LookupEnv(k)
			fmt.Printf("ENV %s=%s set=%v\n", k, v, ok)
		}
		fmt.Println("ENV done")
		block()
	},
	"crash": func() {
		fmt.Println("about to crash")
		os.Exit(1)
	},
	"exit0": func() {
		fmt.Println("done")
		os.Exit(0)
	},
	"ignore-term": func() {
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		block()
	},
	"grandchild": func() {
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), helperEnv+"=sleep")
		if err := gc.Start(); err != nil {
			fmt.Println("grandchild:", err)
			os.Exit(2)
		}
		fmt.Printf("GRANDCHILD %d\n", gc.Process.Pid)
		block()
	},
	"sleep": block,
	// daemon double-forks a server that calls setsid (a new session and process
	// group, stdio on /dev/null) and listens on PORT, then stays in the foreground.
	"daemon": func() {
		mid := exec.Command(os.Args[0])
		mid.Env = append(os.Environ(), helperEnv+"=daemon-mid")
		out, err := mid.Output()
		if err != nil {
			fmt.Println("daemon:", err)
			os.Exit(2)
		}
		fmt.Printf("DAEMON %s\n", strings.TrimSpace(string(out)))
		block()
	},
	"daemon-mid": func() {
		d := exec.Command(os.Args[0])
		d.Env = append(os.Environ(), helperEnv+"=serve")
		d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := d.Start(); err != nil {
			fmt.Println("daemon-mid:", err)
			os.Exit(2)
		}
		fmt.Println(d.Process.Pid)
		os.Exit(0)
	},
	// workers is a gunicorn-like master: two worker children, the port itself.
	"workers": func() {
		var pids []string
		for range 2 {
			w := exec.Command(os.Args[0])
			w.Env = append(os.Environ(), helperEnv+"=sleep")
			if err := w.Start(); err != nil {
				fmt.Println("workers:", err)
				os.Exit(2)
			}
			pids = append(pids, strconv.Itoa(w.Process.Pid))
		}
		fmt.Printf("WORKERS %s\n", strings.Join(pids, " "))
		serve()
	},
	"fds": func() {
		// The descriptors this process was given, as an instance sees them.
		names, _ := os.ReadDir("/proc/self/fd")
		var fds []string
		for _, n := range names {
			fds = append(fds, n.Name())
		}
		fmt.Printf("FDS %s\n", strings.Join(fds, " "))
		block()
	},
	"children": func() {
		// Lists this process's own children, as a server that manages workers
		// (gunicorn's master) sees them.
		time.Sleep(200 * time.Millisecond)
		data, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/children", os.Getpid()))
		fmt.Printf("CHILDREN [%s]\n", strings.TrimSpace(string(data)))
		block()
	},
	"partial": func() {
		os.Stdout.WriteString("no newline at the end")
		os.Exit(0)
	},
	"long": func() {
		os.Stdout.WriteString(strings.Repeat("x", maxLineBytes+100) + "\n")
		block()
	},
	"spam": func() {
		id := os.Getenv("PS")
		body := strings.Repeat("y", 5000)
		for i := range 300 {
			fmt.Printf("%s %d %s END\n", id, i, body)
		}
		fmt.Println("spam done")
		block()
	},
	"count": func() {
		for i := 1; i <= 10; i++ {
			fmt.Printf("line %d\n", i)
		}
		block()
	},
	"tty": func() {
		fi, _ := os.Stdout.Stat()
		_, pipe := fi.Sys().(*syscall.Stat_t)
		fmt.Printf("tty=%v\n", pipe && fi.Mode()&os.ModeCharDevice != 0 && fi.Mode()&os.ModeNamedPipe == 0)
		block()
	},
	"devcluster": devclusterMain,
}

func block() {
	select {}
}

func waitFile(f string) {
	for {
		if _, err := os.Stat(f); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serve answers "/" with the instance and pid, "/health" with 503 until
// HELPER_HEALTH_FILE exists, and exits 0 on SIGTERM.
func serve() {
	// SIGTERM exits 0 from before the port is open: a stop that follows
	// readiness at once must not find the default action (killed by SIGTERM).
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	go func() {
		<-c
		os.Exit(0)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(3)
	}
	fmt.Println("listening on", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s pid %d\n", os.Getenv("PS"), os.Getpid())
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if f := os.Getenv("HELPER_HEALTH_FILE"); f != "" {
			if _, err := os.Stat(f); err != nil {
				fmt.Println("health 503")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	_ = http.Serve(ln, mux)
}

// devclusterMain runs a Supervisor inside a helper process, for the test that
// SIGKILLs it: one simple command and one compound command with a grandchild.
func devclusterMain() {
	self := shellQuote(os.Args[0])
	env := os.Environ()
	port, _ := strconv.Atoi(os.Getenv("HELPER_PORT"))
	specs := []InstanceSpec{
		{ID: "web.1", Process: "web", Index: 1, Port: port, Balanced: true, Command: self,
			Env: append(env, helperEnv+"=serve")},
		{ID: "worker.1", Process: "worker", Index: 1, Command: "true && " + self,
			Env: append(env, helperEnv+"=grandchild")},
	}
	if dir := os.Getenv("HELPER_FLASK_DIR"); dir != "" {
		flaskPort, _ := strconv.Atoi(os.Getenv("HELPER_FLASK_PORT"))
		specs = append(specs, InstanceSpec{ID: "flask.1", Process: "flask", Index: 1, Port: flaskPort, Balanced: true,
			Dir: dir, Env: env, Command: "/usr/bin/python3 -m flask --app app run --no-reload --port $PORT",
			Standby: true})
	}
	if p, _ := strconv.Atoi(os.Getenv("HELPER_DAEMON_PORT")); p > 0 {
		specs = append(specs, InstanceSpec{ID: "web.2", Process: "web", Index: 2, Port: p, Balanced: true,
			Command: self, Env: append(env, helperEnv+"=daemon")})
	}
	s, err := New(Config{
		Specs:  specs,
		Output: os.Stdout,
		Log:    os.Stdout,
		RunDir: os.Getenv("HELPER_RUN_DIR"),
	})
	if err != nil {
		fmt.Println("new:", err)
		os.Exit(2)
	}
	go func() {
		<-s.Ready()
		fmt.Println("ALL READY")
		for {
			for _, st := range s.Status() {
				if st.StandbyPID > 0 {
					fmt.Println("STANDBY READY", st.ID, st.StandbyPID)
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := s.Run(context.Background()); err != nil {
		fmt.Println("run:", err)
		os.Exit(2)
	}
}

// --- test side ---

// fakeBalancer records the supervisor's calls and how many instances of each
// process are out of rotation at once.
type fakeBalancer struct {
	mu     sync.Mutex
	events []string
	in     map[string]bool // enabled
	out    map[string]bool // drained or removed after having been enabled
	maxOut int
	minIn  int // fewest instances in rotation at once since reset
}

func newFakeBalancer() *fakeBalancer {
	return &fakeBalancer{in: make(map[string]bool), out: make(map[string]bool)}
}

func (f *fakeBalancer) Enable(process, id, addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "enable "+id)
	f.in[id] = true
	delete(f.out, id)
}

func (f *fakeBalancer) Drain(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "drain "+id)
	f.takeOut(id)
	return nil
}

func (f *fakeBalancer) Remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "remove "+id)
	f.takeOut(id)
}

func (f *fakeBalancer) takeOut(id string) {
	if f.in[id] {
		delete(f.in, id)
		f.out[id] = true
	}
	f.maxOut = max(f.maxOut, len(f.out))
	f.minIn = min(f.minIn, len(f.in))
}

// reset forgets the events so far and the out-of-rotation high-water mark
// and the in-rotation low-water mark.
func (f *fakeBalancer) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = nil
	f.maxOut = len(f.out)
	f.minIn = len(f.in)
}

// minInRotation is the fewest instances that were in rotation at once since reset.
func (f *fakeBalancer) minInRotation() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minIn
}

func (f *fakeBalancer) snapshot() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...), f.maxOut
}

// freePort returns a port the kernel just handed out on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := pickPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// portSeq spreads the ports of one test binary's tests; see pickPort.
var portSeq atomic.Uint32

// pickPort returns a free loopback port below the kernel's ephemeral range
// (32768+). A port from "127.0.0.1:0" is ephemeral: between its Close and the
// instance's bind, another test's outgoing connection could take it as source
// port, and CheckPorts would rightly call it busy (a flaky
// "address already in use").
func pickPort() (int, error) {
	base := uint32(os.Getpid()) * 7919
	for range 500 {
		p := 20000 + int((base+portSeq.Add(1)*101)%12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port found in 20000-31999")
}

func newTag(t *testing.T) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// taggedPIDs lists the live (non-zombie) processes whose environment carries tag.
func taggedPIDs(tag string) []int {
	want := []byte(tagEnv + "=" + tag + "\x00")
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// cluster is a Supervisor under test with its helpers.
type cluster struct {
	t      *testing.T
	s      *Supervisor
	out    *tstest.Buffer
	log    *tstest.Buffer
	bal    *fakeBalancer
	tag    string
	cancel context.CancelFunc
	errc   chan error
	done   bool
	runErr error
	// commits is every status the instances committed, in order (see
	// Supervisor.observe).
	commits *statusLog
}

// statusLog records statuses from several goroutines.
type statusLog struct {
	mu   sync.Mutex
	list []InstanceStatus
}

func (l *statusLog) add(st InstanceStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, st)
}

// of returns what id committed so far, in order.
func (l *statusLog) of(id string) []InstanceStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []InstanceStatus
	for _, st := range l.list {
		if st.ID == id {
			out = append(out, st)
		}
	}
	return out
}

// helperSpec is an instance that runs the test binary in mode.
func helperSpec(tag, id string, port int, mode string, extraEnv ...string) InstanceSpec {
	process, idx, _ := strings.Cut(id, ".")
	index, _ := strconv.Atoi(idx)
	env := append(os.Environ(), helperEnv+"="+mode, tagEnv+"="+tag)
	return InstanceSpec{
		ID: id, Process: process, Index: index, Port: port,
		Command: shellQuote(os.Args[0]), Env: append(env, extraEnv...),
		Balanced: process == "web", StopTimeout: 2 * time.Second,
	}
}

// startCluster runs cfg in the background; at cleanup it stops the cluster and
// checks that no tagged process is left.
func startCluster(t *testing.T, tag string, cfg Config) *cluster {
	t.Helper()
	c := &cluster{t: t, out: &tstest.Buffer{}, log: &tstest.Buffer{}, bal: newFakeBalancer(), tag: tag, errc: make(chan error, 1)}
	if cfg.Balancer == nil {
		cfg.Balancer = c.bal
	}
	cfg.Output, cfg.Log = c.out, c.log
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.s = s
	c.commits = &statusLog{}
	s.observe = c.commits.add
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.errc <- s.Run(ctx) }()
	t.Cleanup(func() {
		c.stop()
		if pids := taggedPIDs(tag); len(pids) > 0 {
			t.Errorf("processes left running after Run returned: %v", pids)
		}
		if t.Failed() {
			t.Logf("log:\n%s", c.log.String())
		}
	})
	return c
}

// stop cancels Run and waits for it; it returns Run's error.
func (c *cluster) stop() error {
	c.t.Helper()
	if c.done {
		return c.runErr
	}
	c.cancel()
	select {
	case c.runErr = <-c.errc:
	case <-time.After(20 * time.Second):
		c.t.Fatalf("Run did not return within 20s after cancel")
	}
	c.done = true
	return c.runErr
}

// wait waits for Run to return on its own.
func (c *cluster) wait() error {
	c.t.Helper()
	select {
	case c.runErr = <-c.errc:
	case <-time.After(20 * time.Second):
		c.t.Fatalf("Run did not return within 20s")
	}
	c.done = true
	return c.runErr
}

func (c *cluster) waitReady() {
	c.t.Helper()
	select {
	case <-c.s.Ready():
	case err := <-c.errc:
		c.done, c.runErr = true, err
		c.t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(15 * time.Second):
		c.t.Fatalf("not ready after 15s; log:\n%s", c.log.String())
	}
}

func (c *cluster) status(id string) InstanceStatus {
	for _, st := range c.s.Status() {
		if st.ID == id {
			return st
		}
	}
	return InstanceStatus{}
}

func (c *cluster) waitState(id, state string) {
	c.t.Helper()
	tstest.WaitFor(c.t, 10*time.Second, id+" "+state, func() bool {
		c.ended()
		return c.status(id).State == state
	})
}

// ended fails the test at once if Run has already returned: waiting for a line or
// a state of a cluster that is gone would only time out without saying why.
func (c *cluster) ended() {
	c.t.Helper()
	if c.done {
		return
	}
	select {
	case c.runErr = <-c.errc:
		c.done = true
		c.t.Fatalf("Run returned while the test was waiting: %v\nlog:\n%s", c.runErr, c.log.String())
	default:
	}
}

// waitLine waits until id has printed a line containing sub.
func (c *cluster) waitLine(id, sub string) string {
	c.t.Helper()
	var found string
	tstest.WaitFor(c.t, 10*time.Second, fmt.Sprintf("%s to print %q", id, sub), func() bool {
		c.ended()
		for _, l := range c.s.Logs([]string{id}, 0) {
			if strings.Contains(l.Text, sub) {
				found = l.Text
				return true
			}
		}
		return false
	})
	return found
}

func pidAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || len(stat) <= i+2 || stat[i+2] != 'Z'
}
