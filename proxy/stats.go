package proxy

import (
	"sort"
	"time"
)

// BackendStats is a snapshot of one instance as the proxy sees it.
type BackendStats struct {
	ID, Process, Addr string
	// State is the balancer's view: "up" (in rotation), "down" (failed checks or
	// a failed connect; see LastCheck* and LastError), "draining" (no new
	// requests, in-flight ones finishing), "drained" (out until the next
	// Enable), "maint" (out by SetMaint, not checked), "drain" (up, but by
	// SetDrain only its sticky clients are sent to it).
	State     string
	Since     time.Time
	Active    int64  // requests (and tunnels) in flight
	Requests  uint64 // forwarding attempts, over the instance's restarts and reloads (as every count here)
	Failures  uint64 // failed checks and failed attempts
	LastError string
	BytesIn   uint64 // request body bytes sent to the instance
	BytesOut  uint64 // response body bytes sent to clients
	Connects  uint64 // connections opened to the instance
	Redials   uint64 // of those, made in the socket of one the instance had closed
	Retries   uint64 // requests that failed here and were sent to another instance
	Weight    int
	Faults    []Fault // its HTTP faults (SetFault), in the order they apply

	// ConnectFailures counts request attempts that could not connect to the
	// instance (refused, timed out), retried or not: the dashboard's connect
	// errors, which Failures (checks included) and Retries (only the retried)
	// do not give.
	ConnectFailures uint64

	// The last active health check; LastCheck zero: none yet.
	LastCheck         time.Time
	LastCheckOK       bool
	LastCheckResult   string // "connect 127.0.0.1:5001: connection refused", "GET /health → 200"
	LastCheckDuration time.Duration
}

// Stats returns every known instance, ordered by process and index.
func (p *Proxy) Stats() []BackendStats {
	var out []BackendStats
	faults := p.Faults()
	for _, pl := range *p.pools.Load() {
		pl.mu.Lock()
		for _, b := range pl.backends {
			c := b.counts()
			out = append(out, BackendStats{
				ID: b.id, Process: pl.cfg.Process, Addr: b.addr(),
				State: b.stateName(), Since: b.since,
				Active: b.active.Load(), Requests: c.requests, Failures: c.failures,
				LastError: b.lastErr,
				BytesIn:   c.bytesIn, BytesOut: c.bytesOut,
				Connects: c.connects, Redials: c.redials,
				Retries: c.retries, ConnectFailures: c.connFail, Faults: faults[b.id],
				Weight:    int(b.weight.Load()),
				LastCheck: b.lastCheck.at, LastCheckOK: b.lastCheck.ok,
				LastCheckResult: b.lastCheck.result, LastCheckDuration: b.lastCheck.took,
			})
		}
		pl.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Process != out[j].Process {
			return out[i].Process < out[j].Process
		}
		if a, b := instanceIndex(out[i].ID), instanceIndex(out[j].ID); a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}
