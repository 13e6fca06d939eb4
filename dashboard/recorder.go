package dashboard

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Request is one request as the proxy saw it when it ended: what the proxy's
// per-request hook hands to Recorder.Record. Strings are kept as given (the
// recent-requests table holds them), so pass strings the proxy will not reuse.
type Request struct {
	End      time.Time     // when the response ended; zero: Record uses time.Now
	Instance string        // who answered, "web.2"; for a fail fault's answer the faulted instance (it counts as its 5xx); "" when none was chosen
	Method   string        // "GET"
	Path     string        // path and query as the client sent them
	Status   int           // as sent to the client; 0 when none was (reset)
	Duration time.Duration // from the request head to the end of the response
	ID       string        // X-Request-Id
	Decision string        // what the balancer did beyond the usual: "sticky", "retried from web.1: refused", "fault: delay 300ms"; "" if nothing
	Error    ErrorClass    // why the request failed, when the proxy knows
	BytesIn  int64         // request body bytes read from the client
	BytesOut int64         // response body bytes written to the client
}

// ErrorClass is why a request failed, in the classes HAProxy's stats page counts.
type ErrorClass uint8

// Error classes of a Request. A 5xx answered by the instance is not an error
// class: it is counted from Status.
const (
	ErrorNone    ErrorClass = iota
	ErrorConnect            // no instance could be connected to (the proxy answered 502/503)
	ErrorTimeout            // the instance did not answer in time (the proxy answered 504)
	ErrorReset              // the connection broke mid-response
)

var errorClassNames = [...]string{"", "connect", "timeout", "reset"}

func (c ErrorClass) String() string {
	if int(c) < len(errorClassNames) {
		return errorClassNames[c]
	}
	return "unknown"
}

// MarshalText writes the class's name, so JSON shows "timeout", not 2.
func (c ErrorClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Traffic is what the Recorder counted for one instance: the per-request half
// of the dashboard's row (the state half comes from Cluster.Snapshot).
type Traffic struct {
	Total    uint64      `json:"total"`
	Classes  [6]uint64   `json:"classes"` // by status class: [0] no status, [1] 1xx ... [5] 5xx
	Timeouts uint64      `json:"timeouts"`
	Resets   uint64      `json:"resets"`
	Connect  uint64      `json:"connect"` // requests that failed because no connection could be made
	BytesIn  uint64      `json:"bytes_in"`
	BytesOut uint64      `json:"bytes_out"`
	Window   WindowStats `json:"window"`
}

// Recorder counts every request the proxy serves, for the dashboard (totals,
// requests/s, p50/p99 over a rolling window, the recent requests) and for
// /metrics (counters by status class and a duration histogram per instance).
// One hook feeds both, so the page and Prometheus never disagree.
//
// Record is called once per request on the proxy's hot path: after an
// instance's first request it does not allocate (one map lookup under a read
// lock, a mutex per instance, a fixed ring for the recent requests).
type Recorder struct {
	span  time.Duration
	slots int
	now   func() time.Time
	// past is how far back History reaches: the charts' minute.
	past time.Duration

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// insts is copied on write: the hot path reads it with one atomic load,
	// with no lock for the proxy's goroutines to contend on.
	mu    sync.Mutex // serialises writers of insts
	insts atomic.Pointer[map[string]*instTraffic]

	recentMu sync.Mutex
	recent   []Request // ring
	next     int       // index of the next write
	filled   bool
}

type instTraffic struct {
	classes [6]prometheus.Counter // by status class, as Traffic.Classes
	hist    prometheus.Observer

	mu     sync.Mutex // guards t, window and past (whose own locks are not used)
	t      Traffic
	window *Window
	// past holds the last History span plus one window of requests in
	// historyStep slots, for the charts a page draws when it opens.
	past *Window
}

// historyStep is the spacing of History's points.
const historyStep = time.Second

// DefaultHistory is RecorderConfig.History's default: the minute the page's
// charts show.
const DefaultHistory = time.Minute

// RecorderConfig sets up a Recorder; zero fields take the defaults.
type RecorderConfig struct {
	Window time.Duration    // span of the rolling window; default 10 s
	Slots  int              // slots of the window; default 10
	Recent int              // recent requests kept; default 100
	Now    func() time.Time // clock; default time.Now
	// History is how far back History reaches (DefaultHistory), in steps of
	// a second; it costs about 1.2 KB per second and instance.
	History time.Duration
}

// statusClasses are the "class" label values, indexed as Traffic.Classes.
var statusClasses = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// durationBuckets suit web requests: 1 ms to 10 s, with the 300 ms of a
// workshop's delay fault falling between 250 ms and 500 ms.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewRecorder returns an empty Recorder.
func NewRecorder(cfg RecorderConfig) *Recorder {
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Slots <= 0 {
		cfg.Slots = 10
	}
	if cfg.Recent <= 0 {
		cfg.Recent = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	r := &Recorder{
		span:  cfg.Window,
		slots: cfg.Slots,
		now:   cfg.Now,
		past:  cfg.History,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devcluster_requests_total",
			Help: "Requests answered through the proxy, by instance and status class (none: no status was sent).",
		}, []string{"instance", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "devcluster_request_duration_seconds",
			Help:    "Time from the request head to the end of the response, by instance.",
			Buckets: durationBuckets,
		}, []string{"instance"}),
		recent: make([]Request, cfg.Recent),
	}
	r.insts.Store(&map[string]*instTraffic{})
	return r
}

// proxyLabel is the instance label of requests the proxy answered itself.
const proxyLabel = "proxy"

// Record counts one request. Safe for concurrent use.
func (r *Recorder) Record(req Request) {
	if req.End.IsZero() {
		req.End = r.now()
	}
	it := r.instance(req.Instance)
	class := 0
	if req.Status >= 100 && req.Status <= 599 {
		class = req.Status / 100
	}
	it.classes[class].Inc()
	it.hist.Observe(req.Duration.Seconds())
	it.mu.Lock()
	it.window.add(req.End, req.Duration)
	it.past.add(req.End, req.Duration)
	it.t.Total++
	it.t.Classes[class]++
	switch req.Error {
	case ErrorTimeout:
		it.t.Timeouts++
	case ErrorReset:
		it.t.Resets++
	case ErrorConnect:
		it.t.Connect++
	}
	it.t.BytesIn += uint64(max(req.BytesIn, 0))
	it.t.BytesOut += uint64(max(req.BytesOut, 0))
	it.mu.Unlock()

	r.recentMu.Lock()
	r.recent[r.next] = req
	r.next++
	if r.next == len(r.recent) {
		r.next, r.filled = 0, true
	}
	r.recentMu.Unlock()
}

// Observe is Record for callers that know only who answered, how, and how long it took.
func (r *Recorder) Observe(instance string, status int, d time.Duration) {
	r.Record(Request{Instance: instance, Status: status, Duration: d})
}

func (r *Recorder) instance(id string) *instTraffic {
	if it := (*r.insts.Load())[id]; it != nil {
		return it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.insts.Load()
	if it := old[id]; it != nil {
		return it
	}
	label := id
	if label == "" {
		label = proxyLabel
	}
	pastSlots := int((r.past+r.span+historyStep-1)/historyStep) + 1
	it := &instTraffic{window: NewWindow(r.span, r.slots), past: NewWindow(historyStep*time.Duration(pastSlots), pastSlots),
		hist: r.duration.WithLabelValues(label)}
	for i, c := range statusClasses {
		it.classes[i] = r.requests.WithLabelValues(label, c)
	}
	m := make(map[string]*instTraffic, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = it
	r.insts.Store(&m)
	return it
}

// Traffic returns what was counted for instance id ("" for the proxy's own
// answers); the zero Traffic if it never answered.
func (r *Recorder) Traffic(id string) Traffic {
	it := (*r.insts.Load())[id]
	if it == nil {
		return Traffic{}
	}
	now := r.now()
	it.mu.Lock()
	defer it.mu.Unlock()
	t := it.t
	t.Window = it.window.stats(now)
	return t
}

// HistoryPoint is the rolling window's requests/s and p50 of every instance
// at one moment of the past, as the page's charts draw them.
type HistoryPoint struct {
	Time time.Time          `json:"time"`
	Rate map[string]float64 `json:"rate"` // requests/s over the window ending at Time, by instance
	P50  map[string]float64 `json:"p50"`  // ms; only instances that answered in that window
}

// History returns the window's rate and p50 of every instance that answered
// (not the proxy's own answers) once a second over the last History span,
// oldest first, the last point now: what the page's charts would have drawn
// had the page been open, so they are full the moment it opens.
func (r *Recorder) History() []HistoryPoint {
	now := r.now()
	steps := int(r.past / historyStep)
	window := int((r.span + historyStep - 1) / historyStep)
	pts := make([]HistoryPoint, steps+1)
	for k := range pts {
		pts[k] = HistoryPoint{Time: now.Add(-time.Duration(steps-k) * historyStep), Rate: map[string]float64{}, P50: map[string]float64{}}
	}
	for id, it := range *r.insts.Load() {
		if id == "" {
			continue
		}
		it.mu.Lock()
		first := it.past.first
		for k := range pts {
			if first.IsZero() || pts[k].Time.Before(first) {
				continue // not serving yet: the live page would not have drawn it either
			}
			st := it.past.statsOver(pts[k].Time, window)
			pts[k].Rate[id] = st.Rate
			if st.Count > 0 {
				pts[k].P50[id] = ms(st.P50)
			}
		}
		it.mu.Unlock()
	}
	return pts
}

// Recent returns up to n of the latest requests, newest first.
func (r *Recorder) Recent(n int) []Request {
	r.recentMu.Lock()
	defer r.recentMu.Unlock()
	have := r.next
	if r.filled {
		have = len(r.recent)
	}
	n = min(n, have)
	out := make([]Request, 0, max(n, 0))
	for i := 1; i <= n; i++ {
		out = append(out, r.recent[(r.next-i+len(r.recent))%len(r.recent)])
	}
	return out
}

// collectors are the Recorder's metrics, for the dashboard's registry.
func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.requests, r.duration}
}
