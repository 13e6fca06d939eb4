package supervisor

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// procState is pid's state letter in /proc/PID/stat ('T' when stopped), 0 when
// it is gone.
func procState(pid int) byte {
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.state
}

func waitProcState(t *testing.T, pid int, stopped bool) {
	t.Helper()
	what := "pid " + strconv.Itoa(pid) + " running"
	if stopped {
		what = "pid " + strconv.Itoa(pid) + " stopped (T)"
	}
	tstest.WaitFor(t, 10*time.Second, what, func() bool {
		s := procState(pid)
		return s != 0 && (s == 'T') == stopped
	})
}

func TestKillInstanceRestartsWithNewPID(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "web.1", freePort(t), "serve")}})
	c.waitReady()
	pid := c.status("web.1").PID
	if err := c.s.KillInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("KillInstance: %v", err)
	}
	tstest.WaitFor(t, 10*time.Second, "web.1 back with a new pid", func() bool {
		st := c.status("web.1")
		return st.State == StateReady && st.PID != 0 && st.PID != pid
	})
	st := c.status("web.1")
	if st.Restarts != 1 || st.Reloads != 0 || st.LastExit != "signal: killed" || st.LastExitPlanned {
		t.Errorf("got restarts %d reloads %d last exit %q planned %v, want 1, 0, \"signal: killed\", false (a crash)",
			st.Restarts, st.Reloads, st.LastExit, st.LastExitPlanned)
	}
	if pidAlive(pid) {
		t.Errorf("pid %d still alive after KillInstance", pid)
	}
}

// TestPauseStopsDetachedProcessesToo: a server that daemonized (setsid, its own
// group) and holds the port is what must hang; the foreground process too.
func TestPauseStopsDetachedProcessesToo(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "web.1", freePort(t), "daemon")}})
	c.waitReady()
	daemon, err := strconv.Atoi(strings.TrimPrefix(c.waitLine("web.1", "DAEMON "), "DAEMON "))
	if err != nil {
		t.Fatal(err)
	}
	leader := c.status("web.1").PID
	if err := c.s.PauseInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("PauseInstance: %v", err)
	}
	waitProcState(t, leader, true)
	waitProcState(t, daemon, true)
	st := c.status("web.1")
	if !st.Paused || st.PausedSince.IsZero() || st.State != StateReady {
		t.Errorf("status: got paused %v since %v state %s, want paused with a time, still ready", st.Paused, st.PausedSince, st.State)
	}
	if err := c.s.PauseInstance(context.Background(), "web.1"); err != nil {
		t.Errorf("PauseInstance again: got %v, want nil", err)
	}
	if again := c.status("web.1").PausedSince; !again.Equal(st.PausedSince) {
		t.Errorf("PausedSince after a second pause: got %v, want unchanged %v", again, st.PausedSince)
	}

	if err := c.s.ResumeInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("ResumeInstance: %v", err)
	}
	waitProcState(t, leader, false)
	waitProcState(t, daemon, false)
	if st := c.status("web.1"); st.Paused || !st.PausedSince.IsZero() || st.PID != leader {
		t.Errorf("status after resume: got paused %v since %v pid %d, want not paused, zero time, pid %d",
			st.Paused, st.PausedSince, st.PID, leader)
	}
	if err := c.s.ResumeInstance(context.Background(), "web.1"); err != nil {
		t.Errorf("ResumeInstance again: got %v, want nil", err)
	}
}

// TestStopOfPausedInstanceIsGraceful is the regression test for a stop that
// waited on a stopped process: its SIGTERM stayed pending, the stop timeout ran
// out, and SIGKILL ended it. Stop, reload and shutdown resume it first, so the
// server exits on SIGTERM as usual (the helper exits 0).
func TestStopOfPausedInstanceIsGraceful(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	var specs []InstanceSpec
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		sp := helperSpec(tag, id, freePort(t), "serve")
		sp.StopTimeout = 30 * time.Second // longer than any wait below: only a graceful stop ends in time
		specs = append(specs, sp)
	}
	c := startCluster(t, tag, Config{Specs: specs})
	c.waitReady()
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if err := c.s.PauseInstance(context.Background(), id); err != nil {
			t.Fatalf("PauseInstance %s: %v", id, err)
		}
		waitProcState(t, c.status(id).PID, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := c.s.StopInstance(ctx, "web.1"); err != nil {
		t.Fatalf("StopInstance of a paused instance: %v", err)
	}
	if st := c.status("web.1"); st.State != StateStopped || st.Paused || st.LastExit != "exit status 0" {
		t.Errorf("web.1: got state %s paused %v last exit %q, want stopped, not paused, exit status 0", st.State, st.Paused, st.LastExit)
	}

	pid2 := c.status("web.2").PID
	if err := c.s.Restart(ctx, "web.2"); err != nil {
		t.Fatalf("Restart of a paused instance: %v", err)
	}
	if st := c.status("web.2"); st.State != StateReady || st.Paused || st.PID == pid2 || st.LastExit != "exit status 0" {
		t.Errorf("web.2: got state %s paused %v pid %d last exit %q, want ready, not paused, a new pid, exit status 0",
			st.State, st.Paused, st.PID, st.LastExit)
	}

	// web.3 is still paused when Run stops. (Waited for here, on the test's
	// goroutine: c.stop in a goroutine could call t.Fatalf from it.)
	c.cancel()
	select {
	case c.runErr = <-c.errc:
		c.done = true
		if c.runErr != nil {
			t.Errorf("Run: %v", c.runErr)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return within 10s with a paused instance")
	}
	if log := c.log.String(); strings.Contains(log, "did not stop within") {
		t.Errorf("log: got %q, want no SIGKILL after a stop timeout", log)
	}
}

func TestFaultErrors(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		helperSpec(tag, "web.1", freePort(t), "serve"),
		helperSpec(tag, "web.2", freePort(t), "serve"),
	}})
	c.waitReady()
	if err := c.s.StopInstance(context.Background(), "web.2"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string // "" → nil
	}{
		{"kill unknown", func() error { return c.s.KillInstance(ctx, "web.9") }, `kill web.9: no instance named "web.9"`},
		{"pause unknown", func() error { return c.s.PauseInstance(ctx, "web.9") }, `pause web.9: no instance named "web.9"`},
		{"resume unknown", func() error { return c.s.ResumeInstance(ctx, "web.9") }, `resume web.9: no instance named "web.9"`},
		{"pause stopped", func() error { return c.s.PauseInstance(ctx, "web.2") }, "pause web.2: it is stopped, so there is no process to pause"},
		{"kill stopped", func() error { return c.s.KillInstance(ctx, "web.2") }, "kill web.2: it is stopped, so there is no process to kill"},
		{"resume stopped", func() error { return c.s.ResumeInstance(ctx, "web.2") }, ""},
		{"resume not paused", func() error { return c.s.ResumeInstance(ctx, "web.1") }, ""},
	}
	for _, tt := range tests {
		err := tt.call()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestFaultsBeforeRun(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Specs: []InstanceSpec{{ID: "web.1", Process: "web", Index: 1, Command: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(context.Context, string) error{
		"KillInstance": s.KillInstance, "PauseInstance": s.PauseInstance, "ResumeInstance": s.ResumeInstance,
	} {
		if err := f(t.Context(), "web.1"); !errors.Is(err, errNotRunning) {
			t.Errorf("%s before Run: got %v, want %v", name, err, errNotRunning)
		}
	}
}
