package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pageState is what the page draws, sent whole on every tick of the live
// feed: a few kilobytes for a handful of instances, simpler and more robust
// than diffs (a page that missed a tick is right again at the next).
type pageState struct {
	Time      time.Time            `json:"time"`
	Proxy     string               `json:"proxy"`
	Strategy  string               `json:"strategy"`
	Seed      string               `json:"seed,omitempty"` // a string: JavaScript numbers lose digits past 2^53
	Processes []Process            `json:"processes"`
	Hosts     []Host               `json:"hosts"`
	Load      *LoadState           `json:"load,omitempty"` // the page's load, running or the last
	Instances []pageInstance       `json:"instances"`
	Recent    []pageRequest        `json:"recent"`
	Logs      map[string][]LogLine `json:"logs"`
	Errors    map[string]string    `json:"errors,omitempty"` // per instance: why its log could not be read
	// CanAct says whether this browser holds the token: without it the page
	// is read-only and says how to get it.
	CanAct bool `json:"can_act"`
	// History is the charts' last minute (Recorder.History), in the first
	// state a feed sends, so that a page draws them full from the start.
	History []HistoryPoint `json:"history,omitempty"`
}

type pageInstance struct {
	Instance
	UptimeSeconds float64 `json:"uptime_seconds"`
	HealthSeconds float64 `json:"health_seconds"`
	Traffic       Traffic `json:"traffic"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	Rate          float64 `json:"rate"`
}

type pageRequest struct {
	Time       time.Time `json:"time"`
	Instance   string    `json:"instance"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
	ID         string    `json:"id"`
	Decision   string    `json:"decision"`
	Error      string    `json:"error"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// state gathers one pageState from the cluster and the recorder.
func (d *Dashboard) state(ctx context.Context) (pageState, error) {
	snap, err := d.cfg.Cluster.Snapshot(ctx)
	if err != nil {
		return pageState{}, err
	}
	rec := d.cfg.Recorder
	st := pageState{Time: rec.now(), Proxy: snap.Proxy, Strategy: snap.Strategy, Seed: seedText(snap.Seed), Processes: snap.Processes,
		Logs: map[string][]LogLine{}}
	if st.Processes == nil {
		st.Processes = []Process{}
	}
	st.Load = snap.Load
	if st.Hosts = snap.Hosts; st.Hosts == nil {
		st.Hosts = []Host{}
	}
	st.Instances = make([]pageInstance, 0, len(snap.Instances))
	for _, in := range snap.Instances {
		if in.Faults == nil {
			in.Faults = []Fault{}
		}
		t := rec.Traffic(in.ID)
		st.Instances = append(st.Instances, pageInstance{Instance: in, UptimeSeconds: in.Uptime.Seconds(),
			HealthSeconds: in.Health.Duration.Seconds(), Traffic: t,
			P50MS: ms(t.Window.P50), P99MS: ms(t.Window.P99), Rate: t.Window.Rate})
		lines, err := d.cfg.Cluster.Logs(ctx, in.ID, d.cfg.LogLines)
		if err != nil {
			if st.Errors == nil {
				st.Errors = map[string]string{}
			}
			st.Errors[in.ID] = err.Error()
		}
		if lines == nil {
			lines = []LogLine{}
		}
		st.Logs[in.ID] = lines
	}
	recent := rec.Recent(d.cfg.Recent)
	st.Recent = make([]pageRequest, len(recent))
	for i, r := range recent {
		st.Recent[i] = pageRequest{Time: r.End, Instance: r.Instance, Method: r.Method, Path: r.Path,
			Status: r.Status, DurationMS: ms(r.Duration), ID: r.ID, Decision: r.Decision, Error: r.Error.String()}
	}
	return st, nil
}

// DefaultMaxFeeds is Config.MaxFeeds's default: a few tabs of a few users.
const DefaultMaxFeeds = 32

// serveEvents is the live feed: Server-Sent Events, one "state" event per
// Interval, until the page goes away or Close is called. The state is
// gathered once per tick for every open page (feedHub), and each page is sent
// the newest; at MaxFeeds open pages another gets a 503.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	sub, ok := d.feeds.subscribe(d.doors.tokenOK(r))
	if !ok {
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("too many live feeds open (%d, the dashboard's limit): close other dashboard pages and reload", d.cfg.MaxFeeds), http.StatusServiceUnavailable)
		return
	}
	defer d.feeds.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.done:
			return
		case msg := <-sub.next:
			if _, err := w.Write(msg); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// feedHub gathers the page state once per tick for every open feed, so that
// the feed's cost does not grow with the number of pages: one Snapshot and
// one or two JSON encodings per tick (with and without can_act). Its one
// goroutine runs while a feed is open; a slow page is sent the newest state
// and misses the ones it had no time for, it never holds the others up.
type feedHub struct {
	d       *Dashboard
	mu      sync.Mutex
	subs    map[*feedSub]struct{}
	running bool
	closed  bool           // by close: no gathering starts again
	wg      sync.WaitGroup // the gathering goroutine; Add under mu, before closed
}

type feedSub struct {
	canAct bool
	next   chan []byte // one slot: the newest event not yet written
	// historySent: a state with the history is in next or written; queued:
	// the one in next is it. Both under feedHub.mu.
	historySent, historyQueued bool
}

func (h *feedHub) subscribe(canAct bool) (*feedSub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.d.cfg.MaxFeeds {
		return nil, false
	}
	if h.subs == nil {
		h.subs = map[*feedSub]struct{}{}
	}
	s := &feedSub{canAct: canAct, next: make(chan []byte, 1)}
	h.subs[s] = struct{}{}
	if h.closed {
		return s, true // the feed ends at once: d.done is closed
	}
	if !h.running {
		h.running = true
		h.wg.Add(1)
		go h.run()
	} else {
		h.wake()
	}
	return s, true
}

// close stops the gathering for good and waits for it; d.done is closed
// already, so a running gathering ends at once.
func (h *feedHub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *feedHub) unsubscribe(s *feedSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// wake asks run for a tick now, so that a new page is drawn at once; h.mu held.
func (h *feedHub) wake() {
	select {
	case h.d.feedWake <- struct{}{}:
	default:
	}
}

// run gathers and sends one state per Interval until no feed is open or the
// dashboard is closed.
func (h *feedHub) run() {
	defer h.wg.Done()
	t := time.NewTicker(h.d.cfg.Interval)
	defer t.Stop()
	for {
		if !h.tick() {
			return
		}
		select {
		case <-h.d.done:
			h.mu.Lock()
			h.running = false
			h.mu.Unlock()
			return
		case <-t.C:
		case <-h.d.feedWake:
		}
	}
}

// tick sends the current state to every feed; false: none is open, and run
// has ended (under h.mu, so that subscribe starts another).
func (h *feedHub) tick() bool {
	h.mu.Lock()
	if len(h.subs) == 0 {
		h.running = false
		h.mu.Unlock()
		return false
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), max(h.d.cfg.Interval, time.Second))
	defer cancel()
	var msgs, firsts [2][]byte // by canAct; firsts carry the history
	st, err := h.d.state(ctx)
	encode := func(canAct bool, history []HistoryPoint) []byte {
		if err != nil {
			// The page shows the error and keeps listening: a cluster that is
			// stopping still has a feed until the listener closes.
			b, _ := json.Marshal(map[string]string{"error": err.Error()})
			return append(append([]byte("event: failure\ndata: "), b...), '\n', '\n')
		}
		st.CanAct, st.History = canAct, history
		b, jerr := json.Marshal(st)
		if jerr != nil {
			b, _ = json.Marshal(map[string]string{"error": jerr.Error()})
			return append(append([]byte("event: failure\ndata: "), b...), '\n', '\n')
		}
		return append(append([]byte("event: state\ndata: "), b...), '\n', '\n')
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var history []HistoryPoint // gathered once per tick, if a new feed needs it
	for s := range h.subs {
		i := 0
		if s.canAct {
			i = 1
		}
		select { // drop the unsent older state: the newest wins
		case <-s.next:
			if s.historyQueued { // never written: send the history again
				s.historySent, s.historyQueued = false, false
			}
		default:
			s.historyQueued = false // written, if it was queued
		}
		if s.historySent || err != nil {
			if msgs[i] == nil {
				msgs[i] = encode(s.canAct, nil)
			}
			s.next <- msgs[i]
			continue
		}
		if history == nil {
			history = h.d.cfg.Recorder.History()
		}
		if firsts[i] == nil {
			firsts[i] = encode(s.canAct, history)
		}
		s.historySent, s.historyQueued = true, true
		s.next <- firsts[i]
	}
	return true
}

// seedText is the seed as the page shows it, "" for none.
func seedText(seed uint64) string {
	if seed == 0 {
		return ""
	}
	return strconv.FormatUint(seed, 10)
}
