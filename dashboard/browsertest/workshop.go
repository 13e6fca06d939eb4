package browsertest

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Workshop is issue 12's done-when scenario, run on the page of a cluster of
// three instances web.1..web.3 that has served no request yet: the page sees
// them ready; 30 requests show as 10/10/10; kill clicked on web.2 brings it
// back with a new pid; a 300 ms delay set on web.3 from the page raises its
// p50. It reads only the page, so the same scenario checks the dashboard
// against a fake cluster and against a real Flask one.
type Workshop struct {
	URL string // the dashboard URL with its #token=
	// Send makes n requests through the balancer and returns when they have
	// been answered (a fake cluster records them itself).
	Send func(n int)
	// Killed, if set, is called once the page has shown web.2 down: a fake
	// cluster restarts it there. A real cluster restarts it by itself.
	Killed func()
	// Timeout bounds each wait; default 30 s.
	Timeout time.Duration
}

// Run runs the scenario, saving screenshots counts, killed and delay.
func (w Workshop) Run(t *testing.T) *Page {
	t.Helper()
	wait := w.Timeout
	if wait == 0 {
		wait = 30 * time.Second
	}
	p := Open(t, w.URL)
	ids := []string{"web.1", "web.2", "web.3"}
	for _, id := range ids {
		p.WaitCell(id, "state", id+" ready", wait, equals("ready"))
		p.WaitCell(id, "balancer", id+" up in the balancer", wait, equals("up"))
	}

	w.Send(30)
	for _, id := range ids {
		p.WaitCell(id, "total", id+" at 10 requests", wait, equals("10"))
	}
	p.Screenshot("counts")

	oldPID := p.Text(Cell("web.2", "pid"))
	restarts := p.Text(Cell("web.2", "restarts"))
	p.Click(Button("kill", "web.2"))
	p.WaitText("#message", "the page to say the kill was done", wait, equals("kill web.2: done"))
	if w.Killed != nil {
		p.WaitCell("web.2", "state", "web.2 down", wait, func(s string) bool { return s != "ready" })
		p.Screenshot("killed")
		w.Killed()
	}
	// A real instance may come back between two updates of the page: what
	// proves it went down is its new pid and one more restart.
	p.WaitText(Cell("web.2", "pid"), "web.2 back with a new pid", wait, func(s string) bool {
		return s != oldPID && s != "–" && p.Text(Cell("web.2", "state")) == "ready"
	})
	if got := p.Text(Cell("web.2", "restarts")); got == restarts {
		t.Errorf("web.2's restarts/reloads: still %q after the kill", got)
	}
	if w.Killed == nil {
		p.Screenshot("killed")
	}

	p.SetValue(Field("delay_ms", "web.3"), "300")
	p.Click(Button("delay", "web.3"))
	p.WaitText("#message", "the page to say the delay was set", wait, equals("delay web.3: done"))
	p.WaitCell("web.3", "faults", "the delay shown on web.3", wait, func(s string) bool { return strings.Contains(s, "delay") })
	// 60 more: web.3's 20 delayed answers outnumber its 10 earlier ones in
	// the window, so its median is a delayed one.
	w.Send(60)
	p.WaitCell("web.3", "p50", "web.3's p50 at 300 ms or more", wait, func(s string) bool { return msAtLeast(s, 280) })
	// web.1 served requests too, so its cell shows a figure: an empty or
	// unreadable cell is a failure, not a pass.
	if s := p.Text(Cell("web.1", "p50")); !msBelow(s, 280) {
		t.Errorf("web.1's p50 is %q, want a figure under 280 ms: the delay on web.3 must not slow web.1", s)
	}
	p.Screenshot("delay")
	return p
}

func equals(want string) func(string) bool { return func(got string) bool { return got == want } }

// msAtLeast reports whether a cell like "311 ms" shows at least min ms.
func msAtLeast(cell string, min float64) bool {
	v, ok := cellMS(cell)
	return ok && v >= min
}

// msBelow reports whether a cell like "21 ms" shows a figure under max ms; a cell
// without one ("", "–") is not below anything.
func msBelow(cell string, max float64) bool {
	v, ok := cellMS(cell)
	return ok && v < max
}

func cellMS(cell string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(cell, " ms"), 64)
	return v, err == nil
}
