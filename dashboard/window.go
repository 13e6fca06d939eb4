package dashboard

import (
	"math/bits"
	"sync"
	"time"
)

// Window keeps the latencies of the last Span of requests of one instance, for
// the dashboard's requests/s, p50 and p99. It is fed once per request on the
// proxy's hot path, so Add neither allocates nor sorts: each of a fixed ring
// of time slots holds a log-linear histogram (8 bins per octave of
// microseconds, so a quantile is within 1/16 ≈ 6% of the true value), and a
// slot older than Span is cleared when its turn comes round again. A quantile
// is read from the sum of the live slots when the page asks, a few times a
// second at most.
//
// The zero Window is not usable; call NewWindow. A Window is safe for
// concurrent use.
type Window struct {
	mu    sync.Mutex
	width time.Duration // of one slot
	slots []windowSlot
	first time.Time // of the first Add, for the rate of a young window
}

type windowSlot struct {
	epoch int64 // time / width of the slot's requests; 0: never used
	count uint64
	bins  [latencyBins]uint32
}

// WindowStats is what a Window says about its last Span.
type WindowStats struct {
	Count uint64        // requests in the window
	Rate  float64       // requests per second over the window (or since the first request, if younger)
	P50   time.Duration // 0 when Count is 0
	P99   time.Duration
}

const (
	subBits     = 3 // 2^3 = 8 bins per octave
	subBins     = 1 << subBits
	octaves     = 36 // up to 2^39 µs ≈ 6 days; longer is clamped
	latencyBins = subBins + octaves*subBins
)

// NewWindow returns a window over the last span, kept in slots slots (10 and
// 10 s: the rate reacts within a second, and a 300 ms delay set from the page
// shows in p50 as soon as half the window's requests carry it).
func NewWindow(span time.Duration, slots int) *Window {
	if slots < 1 {
		slots = 1
	}
	width := span / time.Duration(slots)
	if width <= 0 {
		width = time.Millisecond
	}
	return &Window{width: width, slots: make([]windowSlot, slots)}
}

// Span is the length of time the window covers.
func (w *Window) Span() time.Duration { return w.width * time.Duration(len(w.slots)) }

// Add records one request that ended at now and took d.
func (w *Window) Add(now time.Time, d time.Duration) {
	w.mu.Lock()
	w.add(now, d)
	w.mu.Unlock()
}

// add is Add for a caller that holds a lock of its own around the window
// (the Recorder's per-instance lock): one lock per request, not two.
func (w *Window) add(now time.Time, d time.Duration) {
	epoch := now.UnixNano()/int64(w.width) + 1 // +1: epoch 0 marks an unused slot
	s := &w.slots[epoch%int64(len(w.slots))]
	if s.epoch != epoch {
		*s = windowSlot{epoch: epoch}
	}
	s.count++
	s.bins[latencyBin(d)]++
	if w.first.IsZero() {
		w.first = now
	}
}

// Stats summarises the requests of the window ending at now.
func (w *Window) Stats(now time.Time) WindowStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats(now)
}

// stats is Stats for a caller holding its own lock around the window.
func (w *Window) stats(now time.Time) WindowStats {
	return w.statsOver(now, len(w.slots))
}

// statsOver summarises the requests of the last n slots up to the one of end
// (n at most the window's slots), as Stats would for a window of n slots:
// the Recorder's history reads the past minute's 10 s windows from one
// longer Window this way. The caller holds the window's lock.
func (w *Window) statsOver(end time.Time, n int) WindowStats {
	n = min(max(n, 1), len(w.slots))
	var sum [latencyBins]uint64
	var st WindowStats
	epoch := end.UnixNano()/int64(w.width) + 1
	oldest := epoch - int64(n) + 1
	first := w.first
	for i := range w.slots {
		s := &w.slots[i]
		if s.epoch < oldest || s.epoch > epoch || s.count == 0 {
			continue
		}
		st.Count += s.count
		for b, n := range s.bins {
			sum[b] += uint64(n)
		}
	}
	if st.Count == 0 {
		return st
	}
	span := w.width * time.Duration(n)
	if age := end.Sub(first); age < span {
		span = max(age, w.width)
	}
	st.Rate = float64(st.Count) / span.Seconds()
	st.P50 = quantile(&sum, st.Count, 0.50)
	st.P99 = quantile(&sum, st.Count, 0.99)
	return st
}

// latencyBin maps d (in µs) to its histogram bin: exact below 8 µs, then 8
// bins per power of two.
func latencyBin(d time.Duration) int {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	if us < subBins {
		return int(us)
	}
	e := bits.Len64(us) - 1 // >= subBits
	if e-subBits >= octaves {
		return latencyBins - 1
	}
	m := (us >> (e - subBits)) & (subBins - 1)
	return subBins + (e-subBits)*subBins + int(m)
}

// binMid is the middle of bin b's range, the value a quantile reports.
func binMid(b int) time.Duration {
	if b < subBins {
		return time.Duration(b) * time.Microsecond
	}
	shift := (b - subBins) / subBins
	m := uint64((b-subBins)%subBins) + subBins
	lo := m << shift
	hi := (m + 1) << shift
	return time.Duration((lo+hi)/2) * time.Microsecond
}

// quantile returns the value under which a fraction q of the n counted
// requests fall (nearest rank).
func quantile(sum *[latencyBins]uint64, n uint64, q float64) time.Duration {
	rank := uint64(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var acc uint64
	for b, c := range sum {
		acc += c
		if acc >= rank {
			return binMid(b)
		}
	}
	return binMid(latencyBins - 1)
}
