// Package dashboard is devcluster's live web page, in the spirit of HAProxy's
// stats page: every instance's state and traffic, a chart of how requests
// spread over the instances and of their latency, the recent requests, the
// tail of each instance's log, and buttons that restart, kill, pause, drain or
// slow an instance down. It also serves /metrics in Prometheus's format.
//
// The package knows nothing of the supervisor or the proxy: it serves any
// Cluster (cmd/devcluster adapts the running parts to it) and is fed each
// request through a Recorder. It is mounted under a prefix (default
// /_devcluster/) on the proxy's own listener, so it is reachable wherever the
// cluster is and only there; its doors (doors.go) keep other web sites and
// DNS-rebinding pages from driving it through the user's browser.
package dashboard

import (
	"context"
	"time"
)

// Cluster is what the dashboard needs from a running devcluster.
//
// Methods are called concurrently. The live feed polls Snapshot (once per
// Config.Interval for all open pages, and once per /metrics scrape), so it should
// copy in-memory state and return, not wait on processes.
type Cluster interface {
	// Snapshot describes the cluster and every instance, in display order.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Act does what a button on the page asks. The dashboard has checked the
	// action's shape (Action.Validate) and that its target exists in the last
	// Snapshot; a refusal (unknown target, a fault the proxy cannot apply)
	// should say why in words the user can act on: the page shows the message.
	// Act returns once the action has been taken, not when its effect is over
	// (a kill returns when the signal is sent; the restart shows in Snapshot).
	Act(ctx context.Context, a Action) error
	// Logs returns the last n lines of instance id's output, oldest first.
	Logs(ctx context.Context, id string, n int) ([]LogLine, error)
}

// Snapshot is the state of the cluster at one moment.
type Snapshot struct {
	Proxy     string     `json:"proxy"`    // proxy listen address, "127.0.0.1:8080"
	Strategy  string     `json:"strategy"` // balancing strategy
	Seed      uint64     `json:"seed"`     // of the proxy's random choices (up --seed N repeats them)
	Processes []Process  `json:"processes"`
	Instances []Instance `json:"instances"`
	Hosts     []Host     `json:"hosts"` // the proxy's host-named routes, if any
	// Load is the load started from the page (running, or the last one), nil
	// when none was.
	Load *LoadState `json:"load,omitempty"`
}

// LoadState is a load started from the page: what it asks and its totals.
type LoadState struct {
	Running    bool             `json:"running"`
	Path       string           `json:"path"`
	Users      int              `json:"users"`
	Rate       float64          `json:"rate"` // asked, open loop; 0: closed loop
	ElapsedMS  float64          `json:"elapsed_ms"`
	DurationMS float64          `json:"duration_ms"`
	Requests   int64            `json:"requests"`
	Failed     int64            `json:"failed"`
	RPS        float64          `json:"rps"` // over the last second
	P50MS      float64          `json:"p50_ms"`
	P99MS      float64          `json:"p99_ms"`
	Instances  map[string]int64 `json:"instances"`
}

// Host is one host-named route of the proxy: requests with this Host go to
// Process's instances.
type Host struct {
	Name    string `json:"name"`    // "api.localhost"
	Process string `json:"process"` // "api"
	URL     string `json:"url"`     // "http://api.localhost:8080"
}

// Process is one process type of the manifest, the target of scale and reload.
type Process struct {
	Name      string `json:"name"`      // "web"
	Instances int    `json:"instances"` // wanted count
	Balanced  bool   `json:"balanced"`  // in the proxy (has a port in rotation)
}

// Instance is the state half of one row of the page; its traffic half
// (totals, rate, p50/p99, 5xx, bytes) comes from the Recorder.
//
// Durations are in JSON as seconds (uptime_seconds, ...) for the page's script.
type Instance struct {
	ID       string `json:"id"`       // "web.2"
	Process  string `json:"process"`  // "web"
	State    string `json:"state"`    // process state: starting, ready, draining, stopping, stopped, down, crash-looping, paused
	Balancer string `json:"balancer"` // balancer state: up, down, draining, drained, maint; "" when not balanced
	PID      int    `json:"pid"`      // 0 when no process runs
	// StandbyPID is its warm standby's (reload.standby), 0 when it has none.
	StandbyPID int           `json:"standby_pid"`
	Port       int           `json:"port"` // 0 when it has none
	Uptime     time.Duration `json:"-"`
	Restarts   int           `json:"restarts"`
	Reloads    int           `json:"reloads"`
	Health     Health        `json:"health"`
	Active     int64         `json:"active"`         // requests in flight
	Connect    uint64        `json:"connect_errors"` // request attempts that could not connect to it, retried elsewhere or not
	Retries    uint64        `json:"retries"`        // requests retried away from this instance
	Weight     int           `json:"weight"`
	Faults     []Fault       `json:"faults"` // active faults, none: empty
}

// Health is the last active check of an instance.
type Health struct {
	Time     time.Time     `json:"time,omitzero"` // zero before the first check
	OK       bool          `json:"ok"`
	Result   string        `json:"result"` // "HTTP 200", "connect: connection refused"
	Duration time.Duration `json:"-"`
}

// Fault is one active fault of an instance, as `devcluster fault list` shows it.
type Fault struct {
	Kind   ActionKind `json:"kind"`           // delay, fail, pause, ...
	Detail string     `json:"detail"`         // "300ms ±50ms on 100%", "50% → 503"
	Until  time.Time  `json:"until,omitzero"` // when it reverts by itself; zero: until cleared
}

// LogLine is one line of an instance's output.
type LogLine struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}
