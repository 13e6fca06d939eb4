package dashboard

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
)

// TestBrowserDrivesFakeCluster runs the workshop scenario in headless
// Chromium against a fake cluster, and checks that the clicks reached the
// cluster as typed actions.
func TestBrowserDrivesFakeCluster(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 3)
	browsertest.Workshop{
		URL:    s.d.URL(),
		Send:   s.sendRoundRobin,
		Killed: func() { s.c.restart("web.2") },
	}.Run(t)
	if !hasAction(s.c, Action{Kind: ActKill, Target: "web.2"}) {
		t.Errorf("the cluster never got kill web.2; got %+v", s.c.acted())
	}
	if !hasAction(s.c, Action{Kind: ActDelay, Target: "web.3", Duration: 300 * time.Millisecond, Percent: 100}) {
		t.Errorf("the cluster never got a 300 ms delay on every request to web.3; got %+v", s.c.acted())
	}
}

// sendRoundRobin records n requests as the proxy would after balancing them
// round robin: 20 ms each, plus the delay of an instance's delay fault, the one the
// fake cluster was given by the page. (Not a fixed 300 ms: the scenario's p50 check
// would then pass whatever delay the page had sent.)
func (s *served) sendRoundRobin(n int) {
	snap, _ := s.c.Snapshot(context.Background())
	for k := range n {
		in := snap.Instances[(s.sent+k)%len(snap.Instances)]
		d := 20 * time.Millisecond
		for _, f := range in.Faults {
			if f.Kind == ActDelay {
				delay, err := time.ParseDuration(f.Detail)
				if err != nil {
					s.t.Errorf("%s's delay fault %q: %v", in.ID, f.Detail, err)
				}
				d += delay
			}
		}
		s.rec.Record(Request{Instance: in.ID, Method: "GET", Path: "/", Status: 200, Duration: d, ID: "req-" + in.ID})
	}
	s.sent += n
}

func hasAction(c *fakeCluster, want Action) bool {
	for _, a := range c.acted() {
		if a == want {
			return true
		}
	}
	return false
}

// TestBrowserSetsResetAndTimeout: the page's reset and timeout controls send
// those faults, with the percent typed beside each button (100 unless changed).
func TestBrowserSetsResetAndTimeout(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 3)
	p := browsertest.Open(t, s.d.URL())
	p.WaitCell("web.1", "state", "web.1 shown", 30*time.Second, func(s string) bool { return s == "ready" })
	p.SetValue(browsertest.Field("reset_percent", "web.1"), "25")
	p.Click(browsertest.Button("reset", "web.1"))
	p.WaitText("#message", "the page to say the reset was set", 30*time.Second, func(s string) bool { return s == "reset web.1: done" })
	p.Click(browsertest.Button("timeout", "web.2"))
	p.WaitText("#message", "the page to say the timeout was set", 30*time.Second, func(s string) bool { return s == "timeout web.2: done" })
	for _, want := range []Action{{Kind: ActReset, Target: "web.1", Percent: 25}, {Kind: ActTimeout, Target: "web.2", Percent: 100}} {
		if !hasAction(s.c, want) {
			t.Errorf("the cluster never got %+v; got %+v", want, s.c.acted())
		}
	}
}

// TestBrowserStartsALoad: the load panel's inputs (labelled) and its start
// button send the load action the cluster runs (devcluster load from a
// button); before any load the status line says where it will show.
func TestBrowserStartsALoad(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 3)
	p := browsertest.Open(t, s.d.URL())
	p.WaitCell("web.1", "state", "web.1 shown", 30*time.Second, func(s string) bool { return s == "ready" })
	p.WaitText("#load-status", "the load panel's status", 30*time.Second, func(s string) bool {
		return strings.HasPrefix(s, "no load yet")
	})
	p.SetValue(browsertest.Field("load_path", ""), "/cart")
	p.SetValue(browsertest.Field("load_users", ""), "4")
	p.SetValue(browsertest.Field("load_seconds", ""), "3")
	p.Click(browsertest.Button("load", ""))
	p.WaitText("#message", "the page to say the load started", 30*time.Second, func(s string) bool { return s == "load: done" })
	p.Click(browsertest.Button("load-stop", ""))
	p.WaitText("#message", "the page to say the load stopped", 30*time.Second, func(s string) bool { return s == "load-stop: done" })
	for _, want := range []Action{{Kind: ActLoad, Path: "/cart", N: 4, Duration: 3 * time.Second}, {Kind: ActLoadStop}} {
		if !hasAction(s.c, want) {
			t.Errorf("the cluster never got %+v; got %+v", want, s.c.acted())
		}
	}
}
