package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestStatsShowLastCheck: what ps shows beside the process state is the
// balancer's: down with the last check's result, time and duration.
func TestStatsShowLastCheck(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Health: HealthConfig{Interval: 20 * time.Millisecond}})
	b := startWeb(t, tp, 1)[0]
	tstest.WaitFor(t, 5*time.Second, "a first check", func() bool { return !statsOf(tp.Proxy, "web.1").LastCheck.IsZero() })
	s := statsOf(tp.Proxy, "web.1")
	if s.State != "up" || !s.LastCheckOK || s.LastCheckResult != "connect "+b.Addr || s.LastCheckDuration <= 0 {
		t.Errorf("got %s ok=%v %q in %s, want up ok=true %q in a positive time", s.State, s.LastCheckOK, s.LastCheckResult, s.LastCheckDuration, "connect "+b.Addr)
	}
	b.Close()
	tstest.WaitFor(t, 5*time.Second, "web.1 down", func() bool { return statsOf(tp.Proxy, "web.1").State == "down" })
	s = statsOf(tp.Proxy, "web.1")
	if s.LastCheckOK || !strings.HasSuffix(s.LastCheckResult, "connection refused") {
		t.Errorf("got ok=%v %q, want a failed check ending in connection refused", s.LastCheckOK, s.LastCheckResult)
	}
}

// TestMaint: an instance in maint gets no requests and no checks, keeps maint
// across Drain and Enable, and is back in rotation when maint is lifted.
func TestMaint(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Health: HealthConfig{Interval: 10 * time.Millisecond}})
	bs := startWeb(t, tp, 2)
	if err := tp.SetMaint("web.2", true); err != nil {
		t.Fatalf("SetMaint: %v", err)
	}
	s := statsOf(tp.Proxy, "web.2")
	if s.State != "maint" {
		t.Fatalf("got state %q, want maint", s.State)
	}
	cl := newClient(t)
	if got := countInstances(t, cl, tp.URL+"/", 4); got["web.1"] != 4 {
		t.Errorf("in maint: got %v, want every request on web.1", got)
	}
	checked := s.LastCheck
	tstest.WaitFor(t, 5*time.Second, "web.1 checked again", func() bool {
		return statsOf(tp.Proxy, "web.1").LastCheck.After(checked.Add(50 * time.Millisecond))
	})
	if got := statsOf(tp.Proxy, "web.2").LastCheck; !got.Equal(checked) {
		t.Errorf("web.2 was checked in maint (last check %v, before %v)", got, checked)
	}
	tp.Enable("web.2", bs[1].Addr) // a restart by the supervisor
	if st := statsOf(tp.Proxy, "web.2").State; st != "maint" {
		t.Errorf("after Enable: got %q, want maint kept", st)
	}
	if err := tp.SetMaint("web.2", false); err != nil {
		t.Fatalf("SetMaint off: %v", err)
	}
	if got := countInstances(t, cl, tp.URL+"/", 4); got["web.2"] != 2 {
		t.Errorf("after maint: got %v, want web.2 back in rotation", got)
	}
	if got := tp.log.String(); !strings.Contains(got, "web.2 is MAINT: set by the user\n") || !strings.Contains(got, "web.2 is UP: set by the user\n") {
		t.Errorf("log: got %q, want the MAINT and UP lines", got)
	}
	if err := tp.SetMaint("web.7", true); err == nil || !strings.Contains(err.Error(), `no instance "web.7"`) {
		t.Errorf("SetMaint of an unknown instance: got %v, want an error naming it", err)
	}
}
