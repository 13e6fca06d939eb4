package dashboard

import (
	"context"
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
// round robin: 20 ms each, 300 ms on an instance with a delay fault.
func (s *served) sendRoundRobin(n int) {
	snap, _ := s.c.Snapshot(context.Background())
	for k := range n {
		in := snap.Instances[(s.sent+k)%len(snap.Instances)]
		d := 20 * time.Millisecond
		for _, f := range in.Faults {
			if f.Kind == ActDelay {
				d = 300 * time.Millisecond
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
