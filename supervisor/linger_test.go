package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/signals"
	"github.com/devcluster/devcluster/internal/tstest"
)

func init() { helperModes["linger"] = lingerHelper }

// lingerHelper serves on PORT like a server with a graceful stop (gunicorn's
// arbiter, uvicorn): at its stop signal (SIGTERM, or HELPER_STOP_SIGNAL=USR1,
// when SIGTERM is ignored) it closes its listener first, then takes
// HELPER_LINGER to exit (forever when unset).
func lingerHelper() {
	sig := syscall.SIGTERM
	if os.Getenv("HELPER_STOP_SIGNAL") == "USR1" {
		sig = syscall.SIGUSR1
		signal.Ignore(syscall.SIGTERM)
	}
	got := make(chan os.Signal, 1)
	signal.Notify(got, sig)
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(3)
	}
	fmt.Println("listening on", ln.Addr())
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s pid %d\n", os.Getenv("PS"), os.Getpid())
		}))
	}()
	s := (<-got).(syscall.Signal)
	_ = ln.Close()
	fmt.Printf("pid %d closed its listener at %s\n", os.Getpid(), signals.Name(s))
	d, _ := time.ParseDuration(os.Getenv("HELPER_LINGER"))
	if d == 0 {
		block()
	}
	time.Sleep(d)
	fmt.Printf("pid %d exits\n", os.Getpid())
	os.Exit(0)
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestRestartGoesOnOnceThePortIsReleased (issue 22 item 2): a drained instance
// whose server has closed its listener is replaced at once; the old process
// finishes its stop in the background, and the roll returns once it has exited,
// its exit then LastExit. Before, the new process started only after the old
// one exited (gunicorn's and uvicorn's graceful stop, Python's teardown).
func TestRestartGoesOnOnceThePortIsReleased(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	sp := helperSpec(tag, "web.1", freePort(t), "linger", "HELPER_LINGER=3s")
	sp.StopTimeout = 20 * time.Second
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}})
	c.waitReady()
	old := c.status("web.1").PID
	done := make(chan error, 1)
	go func() { done <- c.s.Restart(context.Background(), "web.1") }()
	var oldAliveWhenReady bool
	tstest.WaitFor(t, 15*time.Second, "a new web.1 ready", func() bool {
		st := c.status("web.1")
		if st.PID != 0 && st.PID != old && st.State == StateReady {
			oldAliveWhenReady = alive(old)
			return true
		}
		return false
	})
	if !oldAliveWhenReady {
		t.Errorf("the old web.1 (pid %d) had exited when the new one was ready: the restart waited for its exit", old)
	}
	if err := <-done; err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if alive(old) {
		t.Errorf("Restart returned while the old web.1 (pid %d) still runs", old)
	}
	c.waitLine("web.1", fmt.Sprintf("pid %d exits", old))
	if st := c.status("web.1"); st.LastExit != "exit status 0" || !st.LastExitPlanned || st.Restarts != 0 {
		t.Errorf("after the restart: last exit %q planned %v restarts %d, want exit status 0, planned, 0 restarts",
			st.LastExit, st.LastExitPlanned, st.Restarts)
	}
}

// TestLingeringStopHonoursStopSignalAndTimeout: the old process gets the
// instance's stop_signal (here SIGUSR1; it ignores SIGTERM), and once
// stop_timeout has passed without its exit, SIGKILL, whether or not the restart
// has gone on without it.
func TestLingeringStopHonoursStopSignalAndTimeout(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	sp := helperSpec(tag, "web.1", freePort(t), "linger", "HELPER_STOP_SIGNAL=USR1")
	sp.StopSignal = syscall.SIGUSR1
	sp.StopTimeout = time.Second
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}})
	c.waitReady()
	old := c.status("web.1").PID
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c.waitLine("web.1", fmt.Sprintf("pid %d closed its listener at SIGUSR1", old))
	if alive(old) {
		t.Errorf("the old web.1 (pid %d) still runs after the restart returned", old)
	}
	want := fmt.Sprintf("web.1 (the old pid %d) did not stop within 1s after SIGUSR1; sending SIGKILL", old)
	if !strings.Contains(c.log.String(), want) {
		t.Errorf("log: want %q in\n%s", want, c.log.String())
	}
	st := c.status("web.1")
	if st.LastExit != "signal: killed" || !st.LastExitPlanned || st.PID == old || st.State != StateReady {
		t.Errorf("after the restart: pid %d (old %d) state %s last exit %q planned %v, want a new ready pid, signal: killed, planned",
			st.PID, old, st.State, st.LastExit, st.LastExitPlanned)
	}
}
