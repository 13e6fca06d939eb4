package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Result is a finished load's receipt (what --json prints, with the latencies
// in seconds).
type Result struct {
	Mode        string           `json:"mode"` // "closed" or "open"
	Connections int              `json:"connections"`
	Rate        float64          `json:"rate,omitempty"` // asked, open loop
	Elapsed     time.Duration    `json:"-"`
	Requests    int64            `json:"requests"` // sent: answered and failed
	Failed      int64            `json:"failed"`   // no answer, or a 5xx
	FailedBy    map[string]int64 `json:"failed_by"`
	Statuses    map[int]int64    `json:"statuses"`
	Instances   map[string]int64 `json:"instances"` // answers per instance header value
	Bytes       int64            `json:"bytes"`     // body bytes read
	Latency     Latency          `json:"latency"`
}

// Progress is the totals at one moment of a run, for the live view.
type Progress struct {
	Result
	// Interval is the requests finished since the last Progress, over
	// IntervalTime.
	Interval     int64
	IntervalTime time.Duration
}

// tally is one virtual user's counts; its own lock, so that the live view can
// read it while the user runs (uncontended otherwise).
type tally struct {
	mu        sync.Mutex
	h         histogram
	requests  int64
	failed    int64
	bytes     int64
	statuses  map[int]int64
	instances map[string]int64
	failedBy  map[string]int64
}

func newTally() *tally {
	return &tally{statuses: map[int]int64{}, instances: map[string]int64{}, failedBy: map[string]int64{}}
}

// record counts one request that was due at due and ended at end.
func (t *tally) record(due, end time.Time, a answer, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.h.record(end.Sub(due))
	if err != nil {
		t.failed++
		cause := CauseReset
		var f *failure
		if errors.As(err, &f) {
			cause = f.cause
		}
		t.failedBy[cause]++
		return
	}
	t.bytes += a.bytes
	t.statuses[a.status]++
	if a.instance != "" {
		t.instances[a.instance]++
	}
	if a.status >= 500 {
		t.failed++
		t.failedBy["HTTP "+strconv.Itoa(a.status)]++
	}
}

// addTo adds t's counts to r and its latencies to h.
func (t *tally) addTo(r *Result, h *histogram) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Requests += t.requests
	r.Failed += t.failed
	r.Bytes += t.bytes
	for k, v := range t.statuses {
		r.Statuses[k] += v
	}
	for k, v := range t.instances {
		r.Instances[k] += v
	}
	for k, v := range t.failedBy {
		r.FailedBy[k] += v
	}
	h.merge(&t.h)
}

// Run sends the load and returns its receipt when the last request has ended:
// at the duration or the count, or when ctx is cancelled (then with what was
// done so far).
func (g *Generator) Run(ctx context.Context) Result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := g.cfg.Connections
	tallies := make([]*tally, n)
	for i := range tallies {
		tallies[i] = newTally()
	}
	start := g.now()
	var end time.Time
	if g.cfg.Duration > 0 {
		end = start.Add(g.cfg.Duration)
	}
	var wg sync.WaitGroup
	if g.cfg.Rate > 0 {
		due := make(chan time.Time, n)
		wg.Go(func() { g.schedule(ctx, start, end, due) })
		for _, t := range tallies {
			wg.Go(func() { g.openUser(ctx, due, t) })
		}
	} else {
		var issued atomic.Int64
		for _, t := range tallies {
			wg.Go(func() { g.closedUser(ctx, end, &issued, t) })
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	g.watch(ctx, done, start, tallies)
	res := g.sum(tallies)
	res.Elapsed = g.now().Sub(start)
	return res
}

// watch waits for done, calling Every once a second meanwhile.
func (g *Generator) watch(ctx context.Context, done <-chan struct{}, start time.Time, tallies []*tally) {
	if g.cfg.Every == nil {
		<-done
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	lastAt := start
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			p := Progress{Result: g.sum(tallies)}
			now := g.now()
			p.Elapsed = now.Sub(start)
			p.Interval, p.IntervalTime = p.Requests-last, now.Sub(lastAt)
			last, lastAt = p.Requests, now
			g.cfg.Every(p)
		}
	}
}

func (g *Generator) sum(tallies []*tally) Result {
	r := Result{Mode: "closed", Connections: g.cfg.Connections, Rate: g.cfg.Rate,
		Statuses: map[int]int64{}, Instances: map[string]int64{}, FailedBy: map[string]int64{}}
	if g.cfg.Rate > 0 {
		r.Mode = "open"
	}
	var h histogram
	for _, t := range tallies {
		t.addTo(&r, &h)
	}
	r.Latency = h.latency()
	return r
}

// closedUser sends a request, waits for its answer, and sends the next.
func (g *Generator) closedUser(ctx context.Context, end time.Time, issued *atomic.Int64, t *tally) {
	c := &conn{g: g}
	defer c.close()
	for ctx.Err() == nil {
		if g.cfg.Count > 0 && issued.Add(1) > int64(g.cfg.Count) {
			return
		}
		now := g.now()
		if !end.IsZero() && !now.Before(end) {
			return
		}
		a, err := c.do(ctx, now.Add(g.cfg.Timeout))
		t.record(now, g.now(), a, err)
	}
}

// openUser sends each request when it is due (or as soon as it is free, if
// later: the wait counts in the latency).
func (g *Generator) openUser(ctx context.Context, due <-chan time.Time, t *tally) {
	c := &conn{g: g}
	defer c.close()
	for at := range due {
		if ctx.Err() != nil {
			return
		}
		a, err := c.do(ctx, g.now().Add(g.cfg.Timeout))
		t.record(at, g.now(), a, err)
	}
}

// schedule sends the due times of an open loop's requests: Rate per second
// from start, until end or Count. When every user is busy it waits for one,
// but the due times stay the schedule's: the wait counts in those requests'
// latencies, which is what a stalled instance does to real clients.
func (g *Generator) schedule(ctx context.Context, start, end time.Time, due chan<- time.Time) {
	defer close(due)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := int64(0); g.cfg.Count <= 0 || i < int64(g.cfg.Count); i++ {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / g.cfg.Rate))
		if !end.IsZero() && !at.Before(end) {
			return
		}
		if wait := at.Sub(g.now()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		select {
		case due <- at:
		case <-ctx.Done():
			return
		}
	}
}

// Shares returns each instance's share of r's answers, in percent.
func (r Result) Shares() map[string]float64 {
	var total int64
	for _, v := range r.Instances {
		total += v
	}
	out := make(map[string]float64, len(r.Instances))
	if total == 0 {
		return out
	}
	for k, v := range maps.All(r.Instances) {
		out[k] = 100 * float64(v) / float64(total)
	}
	return out
}

type resultFields Result

// MarshalJSON adds "elapsed_seconds".
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		resultFields
		ElapsedSeconds float64 `json:"elapsed_seconds"`
	}{resultFields(r), r.Elapsed.Seconds()})
}

// MarshalJSON writes the latencies in seconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{
		"p50": l.P50.Seconds(), "p90": l.P90.Seconds(), "p99": l.P99.Seconds(),
		"max": l.Max.Seconds(), "mean": l.Mean.Seconds(),
	})
}
