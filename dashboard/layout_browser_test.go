package dashboard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
)

// TestBrowserDashboardFits1400px opens the page in a 1,400 px wide window
// with the widest rows a workshop makes (a standby pid, every kind of fault,
// errors and bytes in every column) and a minute of traffic already recorded,
// and measures the page: the instance table needs no horizontal scroll and
// every header and fault badge lies inside the window; every fault input has
// a visible <label>; the rate and latency charts draw the last minute at load.
func TestBrowserDashboardFits1400px(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 3)
	s.c.mu.Lock()
	for i := range s.c.snap.Instances {
		in := &s.c.snap.Instances[i]
		in.StandbyPID = 90000 + i
		in.Restarts, in.Reloads, in.Retries, in.Connect = 12, 34, 1234, 567
		in.Weight = 100
		in.Faults = []Fault{{Kind: ActDelay, Detail: "300ms ±50ms on 25%"}, {Kind: ActFail, Detail: "50% → 503"},
			{Kind: ActReset, Detail: "on 10%"}, {Kind: ActTimeout, Detail: "on 5%"}, {Kind: ActPause, Until: time.Now().Add(time.Minute)}}
	}
	s.c.mu.Unlock()
	// A minute of traffic, one request per instance per 100 ms, ended before the page opens.
	now := time.Now()
	for k := 600; k >= 1; k-- {
		for _, id := range []string{"web.1", "web.2", "web.3"} {
			s.rec.Record(Request{End: now.Add(-time.Duration(k) * 100 * time.Millisecond), Instance: id, Method: "GET", Path: "/",
				Status: 200, Duration: 20 * time.Millisecond, ID: "req", BytesIn: 3 << 20, BytesOut: 900 << 20})
		}
	}

	const width = 1400
	p := browsertest.OpenSized(t, s.d.URL(), width, 1000)
	p.WaitCell("web.3", "state", "web.3 shown", 30*time.Second, func(s string) bool { return s == "ready" })
	p.WaitText("#actions", "the actions drawn", 30*time.Second, func(s string) bool { return strings.Contains(s, "web.3") })
	shot := p.Screenshot("1400px")
	t.Logf("look at %s", shot)

	// The charts, measured first: "at load" is now, a tick or two after the first state.
	for _, id := range []string{"rate", "latency"} {
		var frac float64
		// The share of the plot's left half (the minute's first 30 s) with a
		// line drawn in it: saturated pixels (grid, axes and text are grey or black).
		js := fmt.Sprintf(`(() => {
		  const c = document.getElementById(%q), g = c.getContext("2d");
		  const L = 60, R = 90, W = c.width, H = c.height, half = Math.floor((W - L - R) / 2);
		  const d = g.getImageData(L + 2, 0, half, H).data;
		  const cols = new Set();
		  for (let i = 0; i < d.length; i += 4) {
		    const mx = Math.max(d[i], d[i+1], d[i+2]), mn = Math.min(d[i], d[i+1], d[i+2]);
		    if (d[i+3] > 0 && mx - mn > 60) cols.add((i / 4) %% half);
		  }
		  return cols.size / half;
		})()`, id)
		if err := p.Eval(js, &frac); err != nil {
			t.Fatalf("measure chart %s: %v", id, err)
		}
		if frac < 0.8 {
			t.Errorf("chart #%s at load draws a line over %.0f%% of its first 30 s, want the minute recorded before the page opened (>= 80%%); see %s", id, 100*frac, shot)
		}
	}

	var m struct {
		ScrollWidth, ClientWidth, ViewportWidth float64 // the table's, its section's, the window's
		PageScrollWidth                         float64
		Outside                                 []string
		Unlabelled                              []string
		Inputs                                  int
		Headers                                 []string
	}
	err := p.Eval(`(() => {
	  const out = [], bad = [], hs = [];
	  const vw = document.documentElement.clientWidth;
	  const tbl = document.getElementById("instances");
	  const box = tbl.parentElement;
	  const inside = (e, what) => {
	    const r = e.getBoundingClientRect();
	    if (r.left < 0 || r.right > vw + 0.5 || r.width === 0) out.push(what + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]");
	  };
	  tbl.querySelectorAll("thead th").forEach((th) => {
	    inside(th, "header " + th.textContent.trim());
	    hs.push(th.textContent.trim() + " " + Math.round(th.getBoundingClientRect().width));
	  });
	  tbl.querySelectorAll("tbody td").forEach((td) => inside(td, "cell " + td.closest("tr").dataset.id + " " + td.dataset.col));
	  tbl.querySelectorAll(".faults .badge").forEach((b) => inside(b, "badge " + b.closest("tr").dataset.id + " " + b.textContent));
	  const inputs = document.querySelectorAll("#actions input");
	  inputs.forEach((i) => {
	    const what = i.dataset.field + " " + i.dataset.target;
	    const ls = [...i.labels].filter((l) => { const r = l.getBoundingClientRect(); return r.width > 0 && r.height > 0 && l.textContent.replace(i.value, "").trim() !== "" && getComputedStyle(l).visibility === "visible"; });
	    if (ls.length === 0) bad.push(what);
	  });
	  return { ScrollWidth: Math.max(tbl.scrollWidth, box.scrollWidth), ClientWidth: box.clientWidth,
	           PageScrollWidth: document.documentElement.scrollWidth, ViewportWidth: vw, Outside: out, Unlabelled: bad, Inputs: inputs.length, Headers: hs };
	})()`, &m)
	if err != nil {
		t.Fatalf("measure the page: %v", err)
	}
	t.Logf("viewport %v px, table scrollWidth %v, clientWidth %v, %d fault inputs; column widths: %s",
		m.ViewportWidth, m.ScrollWidth, m.ClientWidth, m.Inputs, strings.Join(m.Headers, ", "))
	if m.ViewportWidth > width || m.ViewportWidth < width-20 {
		t.Fatalf("viewport is %v px wide, want %d (less a scroll bar)", m.ViewportWidth, width)
	}
	if m.ScrollWidth > m.ClientWidth {
		t.Errorf("the instance table scrolls sideways at %d px: scrollWidth %v > clientWidth %v; see %s", width, m.ScrollWidth, m.ClientWidth, shot)
	}
	if m.PageScrollWidth > m.ViewportWidth {
		t.Errorf("the page scrolls sideways at %d px: scrollWidth %v > %v; see %s", width, m.PageScrollWidth, m.ViewportWidth, shot)
	}
	if len(m.Outside) > 0 {
		t.Errorf("at %d px these lie outside the window:\n  %s\nsee %s", width, strings.Join(m.Outside, "\n  "), shot)
	}
	if m.Inputs == 0 {
		t.Fatal("no fault inputs on the page")
	}
	if len(m.Unlabelled) > 0 {
		t.Errorf("fault inputs without a visible <label>: %s", strings.Join(m.Unlabelled, ", "))
	}
}
