package supervisor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestReloadsCountedApartFromCrashes is the regression test for ps counting a
// planned reload as a crash: every save added a restart and LAST EXIT said
// "exit status 0" as if the app had quit. Planned starts count as Reloads, the
// exit they cause is LastExitPlanned; a crash still counts as a restart.
func TestReloadsCountedApartFromCrashes(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		helperSpec(tag, "web.1", freePort(t), "serve"),
	}})
	c.waitReady()
	type counts struct {
		restarts, reloads int
		lastExit          string
		planned           bool
	}
	check := func(step string, want counts) {
		t.Helper()
		st := c.status("web.1")
		if got := (counts{st.Restarts, st.Reloads, st.LastExit, st.LastExitPlanned}); got != want {
			t.Errorf("after %s: got %+v, want %+v", step, got, want)
		}
	}
	check("the first start", counts{})

	if err := c.s.Reload(context.Background(), "web"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	check("a reload", counts{reloads: 1, lastExit: "exit status 0", planned: true})

	pid := c.status("web.1").PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tstest.WaitFor(t, 10*time.Second, "web.1 back after the crash", func() bool {
		st := c.status("web.1")
		return st.PID != pid && st.PID != 0 && st.State == StateReady
	})
	check("a crash", counts{restarts: 1, reloads: 1, lastExit: "signal: killed"})

	if err := c.s.StopInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	check("a stop", counts{restarts: 1, reloads: 1, lastExit: "exit status 0", planned: true})
	if err := c.s.StartInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	check("a start after the stop", counts{restarts: 1, reloads: 2, lastExit: "exit status 0", planned: true})
}
