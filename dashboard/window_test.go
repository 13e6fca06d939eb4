package dashboard

import (
	"math"
	"testing"
	"time"
)

func TestWindowQuantiles(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		lat      []time.Duration // each added 10 times
		p50, p99 time.Duration
	}{
		{"one value", []time.Duration{300 * time.Millisecond}, 300 * time.Millisecond, 300 * time.Millisecond},
		{"tiny", []time.Duration{3 * time.Microsecond}, 3 * time.Microsecond, 3 * time.Microsecond},
		{"zero", []time.Duration{0}, 0, 0},
		{"mostly fast, one slow", append(repeat(2*time.Millisecond, 98), 500*time.Millisecond, 500*time.Millisecond), 2 * time.Millisecond, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(10*time.Second, 10)
			for range 10 {
				for _, d := range tt.lat {
					w.Add(now, d)
				}
			}
			st := w.Stats(now)
			if want := uint64(10 * len(tt.lat)); st.Count != want {
				t.Errorf("Count: got %d, want %d", st.Count, want)
			}
			within(t, "p50", st.P50, tt.p50)
			within(t, "p99", st.P99, tt.p99)
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// within fails unless got is within the window's promised 1/16 of want.
func within(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if math.Abs(float64(got-want)) > float64(want)/16+float64(time.Microsecond) {
		t.Errorf("%s: got %v, want %v ± 1/16", what, got, want)
	}
}

func TestWindowForgetsOldSlots(t *testing.T) {
	t.Parallel()
	w := NewWindow(10*time.Second, 10)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 5 {
		w.Add(t0.Add(time.Duration(i)*time.Second), 100*time.Millisecond)
	}
	w.Add(t0.Add(5*time.Second), time.Second)
	if st := w.Stats(t0.Add(5 * time.Second)); st.Count != 6 {
		t.Fatalf("after 5 s: got %d requests, want 6", st.Count)
	}
	// 12 s after t0 the window covers t0+3s..t0+12s: t0+3s, t0+4s, t0+5s.
	st := w.Stats(t0.Add(12 * time.Second))
	if st.Count != 3 {
		t.Errorf("after 12 s: got %d requests, want 3", st.Count)
	}
	if want := 3.0 / 10; math.Abs(st.Rate-want) > 1e-9 {
		t.Errorf("rate: got %v, want %v", st.Rate, want)
	}
	// A slot reused by a newer second holds only the new second's requests:
	// t0+13s takes t0+3s's slot, and the window holds t0+4s, t0+5s, t0+13s.
	w.Add(t0.Add(13*time.Second), 2*time.Second)
	if st := w.Stats(t0.Add(13 * time.Second)); st.Count != 3 {
		t.Errorf("after t0+13s reused t0+3s's slot: got %d requests, want 3", st.Count)
	}
	if st := w.Stats(t0.Add(30 * time.Second)); st != (WindowStats{}) {
		t.Errorf("after 30 s: got %+v, want nothing", st)
	}
}

func TestWindowRateOfYoungWindow(t *testing.T) {
	t.Parallel()
	w := NewWindow(10*time.Second, 10)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 20 {
		w.Add(t0.Add(time.Duration(i)*100*time.Millisecond), time.Millisecond)
	}
	// 20 requests over the first 2 s: 10/s, not 20 / 10 s = 2/s.
	st := w.Stats(t0.Add(2 * time.Second))
	if math.Abs(st.Rate-10) > 0.01 {
		t.Errorf("rate: got %v, want 10", st.Rate)
	}
}

func TestLatencyBinsCoverEveryDuration(t *testing.T) {
	t.Parallel()
	prev := -1
	for us := time.Duration(0); us < 1<<22; us = us*9/8 + 1 {
		d := us * time.Microsecond
		b := latencyBin(d)
		if b < prev {
			t.Fatalf("bin of %v is %d, below the bin %d of a shorter duration", d, b, prev)
		}
		prev = b
		within(t, d.String(), binMid(b), d)
	}
	if b := latencyBin(1000 * time.Hour * 24); b != latencyBins-1 {
		t.Errorf("a very long request: got bin %d, want the last, %d", b, latencyBins-1)
	}
	if b := latencyBin(-time.Second); b != 0 {
		t.Errorf("a negative duration: got bin %d, want 0", b)
	}
}

func BenchmarkWindowAdd(b *testing.B) {
	w := NewWindow(10*time.Second, 10)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Add(now, time.Duration(i%5000)*time.Microsecond)
	}
}
