package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// pageState is what the page draws, sent whole on every tick of the live
// feed: a few kilobytes for a handful of instances, simpler and more robust
// than diffs (a page that missed a tick is right again at the next).
type pageState struct {
	Time      time.Time            `json:"time"`
	Proxy     string               `json:"proxy"`
	Strategy  string               `json:"strategy"`
	Processes []Process            `json:"processes"`
	Instances []pageInstance       `json:"instances"`
	Recent    []pageRequest        `json:"recent"`
	Logs      map[string][]LogLine `json:"logs"`
	Errors    map[string]string    `json:"errors,omitempty"` // per instance: why its log could not be read
	// CanAct says whether this browser holds the token: without it the page
	// is read-only and says how to get it.
	CanAct bool `json:"can_act"`
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
	st := pageState{Time: rec.now(), Proxy: snap.Proxy, Strategy: snap.Strategy, Processes: snap.Processes,
		Logs: map[string][]LogLine{}}
	if st.Processes == nil {
		st.Processes = []Process{}
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

// serveEvents is the live feed: Server-Sent Events, one "state" event per
// Interval, until the page goes away or Close is called. Each open page polls
// the cluster on its own ticker: there are one or two pages at a time, and no
// goroutine outlives its request.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	ctx := r.Context()
	canAct := d.doors.tokenOK(r)
	for {
		if err := d.sendState(ctx, w, canAct); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-d.done:
			return
		case <-t.C:
		}
	}
}

func (d *Dashboard) sendState(ctx context.Context, w http.ResponseWriter, canAct bool) error {
	st, err := d.state(ctx)
	st.CanAct = canAct
	if err != nil {
		// The page shows the error and keeps listening: a cluster that is
		// stopping still has a feed until the listener closes.
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		_, err = w.Write(append(append([]byte("event: failure\ndata: "), b...), '\n', '\n'))
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = w.Write(append(append([]byte("event: state\ndata: "), b...), '\n', '\n'))
	return err
}
