package dashboard

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestBrowserDrivesFakeCluster opens the page in headless Chromium against a
// fake cluster: it sees three ready instances, the counts the recorder is fed,
// a kill clicked on web.2 reaching the cluster and the instance going down and
// back, and a 300 ms delay set on web.3 from the page's own inputs.
func TestBrowserDrivesFakeCluster(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 3)
	p := browsertest.Open(t, s.d.URL())
	const wait = 15 * time.Second
	is := func(want string) func(string) bool { return func(got string) bool { return got == want } }

	for _, id := range []string{"web.1", "web.2", "web.3"} {
		p.WaitCell(id, "state", id+" ready", wait, is("ready"))
		p.WaitCell(id, "balancer", id+" up in the balancer", wait, is("up"))
	}
	if got := p.Text("#feed"); !strings.Contains(got, "live") {
		t.Errorf("feed indicator: got %q, want it to say live", got)
	}

	s.feed(10, 20*time.Millisecond)
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		p.WaitCell(id, "total", id+" at 10 requests", wait, is("10"))
	}
	p.Screenshot("counts")

	oldPID := p.Text(browsertest.Cell("web.2", "pid"))
	p.Click(browsertest.Button("kill", "web.2"))
	tstest.WaitFor(t, wait, "the cluster to get kill web.2", func() bool { return hasAction(s.c, ActKill, "web.2") })
	p.WaitCell("web.2", "state", "web.2 down", wait, is("down"))
	p.WaitText("#message", "the page to say the kill was done", wait, is("kill web.2: done"))
	p.Screenshot("killed")
	s.c.restart("web.2")
	p.WaitCell("web.2", "state", "web.2 back", wait, is("ready"))
	if pid := p.Text(browsertest.Cell("web.2", "pid")); pid == oldPID || pid == "–" {
		t.Errorf("web.2's pid after the restart: got %s, want a new one (was %s)", pid, oldPID)
	}

	p.SetValue(browsertest.Field("delay_ms", "web.3"), "300")
	p.Click(browsertest.Button("delay", "web.3"))
	tstest.WaitFor(t, wait, "the cluster to get a 300 ms delay on web.3", func() bool {
		for _, a := range s.c.acted() {
			if a.Kind == ActDelay && a.Target == "web.3" && a.Duration == 300*time.Millisecond && a.Percent == 100 {
				return true
			}
		}
		return false
	})
	p.WaitCell("web.3", "faults", "the delay shown on web.3", wait, func(s string) bool { return strings.Contains(s, "delay 300ms") })
	// The fake applies no delay itself: feed what the proxy would then record.
	for range 30 {
		s.rec.Record(Request{Instance: "web.3", Method: "GET", Path: "/", Status: 200, Duration: 300 * time.Millisecond})
	}
	p.WaitCell("web.3", "p50", "web.3's p50 near 300 ms", wait, func(s string) bool {
		v, err := strconv.Atoi(strings.TrimSuffix(s, " ms"))
		return err == nil && v >= 280 && v <= 320
	})
	p.Screenshot("delay")
}

func hasAction(c *fakeCluster, kind ActionKind, target string) bool {
	for _, a := range c.acted() {
		if a.Kind == kind && a.Target == target {
			return true
		}
	}
	return false
}
