package watcher

import (
	"slices"
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type event struct {
		at   int // ms
		path string
	}
	tests := []struct {
		name    string
		events  []event
		wantDue int // ms
		take    int // ms: take at this time
		want    []string
	}{
		{"single event closes after quiet", []event{{0, "/a.py"}}, 300, 300, []string{"/a.py"}},
		{"not yet due", []event{{0, "/a.py"}}, 300, 299, nil},
		{"each event extends", []event{{0, "/a.py"}, {200, "/b.py"}, {400, "/c.py"}}, 700, 700, []string{"/a.py", "/b.py", "/c.py"}},
		{"duplicates collapse", []event{{0, "/a.py"}, {10, "/a.py"}, {20, "/a.py"}}, 320, 320, []string{"/a.py"}},
		{"sorted", []event{{0, "/z.py"}, {1, "/a.py"}, {2, "/m.py"}}, 302, 302, []string{"/a.py", "/m.py", "/z.py"}},
		{"capped at max wait", []event{{0, "/a.py"}, {250, "/a.py"}, {500, "/a.py"}, {750, "/a.py"}, {1000, "/a.py"}, {1250, "/a.py"}, {1500, "/a.py"}, {1750, "/a.py"}, {1990, "/b.py"}}, 2000, 2000, []string{"/a.py", "/b.py"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDebouncer(300*time.Millisecond, 2*time.Second)
			if _, ok := d.due(); ok {
				t.Fatalf("due on an empty debouncer: got ok, want none pending")
			}
			for _, e := range tt.events {
				d.add(e.path, ms(e.at))
			}
			due, ok := d.due()
			if !ok || !due.Equal(ms(tt.wantDue)) {
				t.Errorf("due: got %v %v, want %v", due.Sub(t0), ok, time.Duration(tt.wantDue)*time.Millisecond)
			}
			if got := d.take(ms(tt.take)); !slices.Equal(got, tt.want) {
				t.Errorf("take at %dms: got %v, want %v", tt.take, got, tt.want)
			}
		})
	}
}

func TestDebouncerStartsNewBatchAfterTake(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	d := newDebouncer(100*time.Millisecond, time.Second)
	d.add("/a.py", t0)
	if got := d.take(t0.Add(100 * time.Millisecond)); !slices.Equal(got, []string{"/a.py"}) {
		t.Fatalf("first take: got %v, want [/a.py]", got)
	}
	if _, ok := d.due(); ok {
		t.Fatalf("due after take: got pending, want none")
	}
	// The max-wait cap counts from the first event of the new batch.
	d.add("/b.py", t0.Add(5*time.Second))
	if due, _ := d.due(); !due.Equal(t0.Add(5*time.Second + 100*time.Millisecond)) {
		t.Errorf("due of second batch: got %v, want 5.1s", due.Sub(t0))
	}
}

func TestMergeSorted(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want []string }{
		{nil, []string{"a"}, []string{"a"}},
		{[]string{"a"}, nil, []string{"a"}},
		{[]string{"a", "c"}, []string{"b", "c", "d"}, []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		if got := mergeSorted(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("mergeSorted(%v, %v): got %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDebouncerDrop(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	d := newDebouncer(100*time.Millisecond, time.Second)
	for _, p := range []string{"/p/env/lib/a.py", "/p/env/x.cfg", "/p/envoy.py", "/p/app.py"} {
		d.add(p, t0)
	}
	d.drop("/p/env")
	if got, want := d.take(t0.Add(time.Second)), []string{"/p/app.py", "/p/envoy.py"}; !slices.Equal(got, want) {
		t.Errorf("take after drop: got %v, want %v", got, want)
	}
}

// TestDebouncerHoldsMissingPath: a batch due while one of its paths is
// missing (vim has renamed app.py away and is fsyncing its swap file) waits
// for the path to come back, up to the gone time, and never past the cap.
func TestDebouncerHoldsMissingPath(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	present := map[string]bool{}
	exists := func(p string) bool { return present[p] }
	newD := func(max time.Duration) *debouncer {
		return newDebouncer(50*time.Millisecond, max).holdMissing(300*time.Millisecond, exists)
	}

	d := newD(2 * time.Second)
	d.add("/a.py", ms(0)) // renamed away
	if got := d.take(ms(50)); got != nil {
		t.Fatalf("take at 50ms with /a.py missing: got %v, want nothing (held)", got)
	}
	if due, _ := d.due(); !due.Equal(ms(300)) {
		t.Errorf("due while held: got %v, want 300ms", due.Sub(t0))
	}
	present["/a.py"] = true
	d.add("/a.py", ms(140)) // the new file, after a 140 ms fsync
	if due, _ := d.due(); !due.Equal(ms(190)) {
		t.Errorf("due after the path came back: got %v, want 190ms", due.Sub(t0))
	}
	if got := d.take(ms(190)); !slices.Equal(got, []string{"/a.py"}) {
		t.Errorf("take at 190ms: got %v, want [/a.py]", got)
	}

	// Deleted for good: reported once the hold is over.
	d.add("/gone.py", ms(1000))
	if got := d.take(ms(1050)); got != nil {
		t.Fatalf("take at 1050ms: got %v, want nothing (held)", got)
	}
	if got := d.take(ms(1300)); !slices.Equal(got, []string{"/gone.py"}) {
		t.Errorf("take at 1300ms: got %v, want [/gone.py]", got)
	}

	// The cap wins over the hold.
	d = newD(200 * time.Millisecond)
	d.add("/gone.py", ms(0))
	d.add("/gone.py", ms(100))
	if got := d.take(ms(150)); got != nil {
		t.Fatalf("take at 150ms: got %v, want nothing (held)", got)
	}
	if due, _ := d.due(); !due.Equal(ms(200)) {
		t.Errorf("due held under a 200ms cap: got %v, want 200ms", due.Sub(t0))
	}
	if got := d.take(ms(200)); !slices.Equal(got, []string{"/gone.py"}) {
		t.Errorf("take at the cap: got %v, want [/gone.py]", got)
	}

	// A gone time within the quiet time, or none, holds nothing.
	for _, gone := range []time.Duration{-1, 0, 50 * time.Millisecond} {
		d := newDebouncer(50*time.Millisecond, time.Second).holdMissing(gone, exists)
		d.add("/gone.py", ms(0))
		if got := d.take(ms(50)); !slices.Equal(got, []string{"/gone.py"}) {
			t.Errorf("gone %v: take at 50ms: got %v, want [/gone.py]", gone, got)
		}
	}
}
