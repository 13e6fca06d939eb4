package dashboard

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRecorderHistoryIsTheLastMinute: 59 s of 10 requests/s of 20 ms on
// web.1 and none on web.2 reads back as one point a second, oldest first, the
// last one now, each with the 10 s window's rate and p50 at that moment; no
// point before an instance's first request, none for the proxy's own answers.
func TestRecorderHistoryIsTheLastMinute(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := NewRecorder(RecorderConfig{Now: func() time.Time { return now }})
	for k := 590; k >= 1; k-- { // from 59 s ago
		rec.Record(Request{End: now.Add(-time.Duration(k) * 100 * time.Millisecond), Instance: "web.1", Status: 200, Duration: 20 * time.Millisecond})
	}
	rec.Record(Request{End: now.Add(-5 * time.Second), Instance: "", Status: 503})
	pts := rec.History()
	if len(pts) != 61 || !pts[60].Time.Equal(now) || !pts[0].Time.Equal(now.Add(-time.Minute)) {
		t.Fatalf("got %d points from %v to %v, want 61 from a minute ago to now", len(pts), pts[0].Time, pts[len(pts)-1].Time)
	}
	for k, p := range pts {
		if _, ok := p.Rate[""]; ok {
			t.Fatalf("point %d has the proxy's own answers: %+v", k, p)
		}
		if k < 20 { // the first 10 s: a young window
			continue
		}
		if r := p.Rate["web.1"]; r < 9 || r > 11 {
			t.Errorf("point %d (%v): web.1's rate %.1f, want 10/s", k, p.Time, r)
		}
		if ms := p.P50["web.1"]; ms < 18 || ms > 22 {
			t.Errorf("point %d: web.1's p50 %.1f ms, want 20 ms", k, ms)
		}
	}
	if _, ok := pts[0].Rate["web.1"]; ok {
		t.Errorf("point 0 is before web.1's first request, yet has a rate: %+v", pts[0])
	}
}

// TestFeedSendsHistoryWithFirstState: the first state of a live feed carries
// the charts' minute, the next ones do not (they add a point each).
func TestFeedSendsHistoryWithFirstState(t *testing.T) {
	t.Parallel()
	s := serve(t, 2)
	s.feed(5, 10*time.Millisecond)
	resp, err := http.Get(s.base + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var states []pageState
	for len(states) < 2 && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var st pageState
			if err := json.Unmarshal([]byte(data), &st); err != nil {
				t.Fatalf("event data: %v", err)
			}
			states = append(states, st)
		}
	}
	if len(states) < 2 {
		t.Fatalf("stream ended after %d states: %v", len(states), sc.Err())
	}
	h := states[0].History
	if len(h) != 61 || h[60].Rate["web.1"] == 0 || h[60].P50["web.2"] == 0 {
		t.Fatalf("first state's history: %d points, last %+v; want 61 ending with both instances' traffic", len(h), h[len(h)-1])
	}
	if states[1].History != nil {
		t.Errorf("second state repeats the history (%d points)", len(states[1].History))
	}
}
