// Package cluster is what a running devcluster is, apart from how the CLI
// prints it: the fault registry and its clock (faults.go), the request
// observers and the access hub behind `devcluster logs --access` (access.go),
// and the one joined view of an instance, the supervisor's state beside the
// balancer's and the active faults (view.go), which the control API (api.go,
// what `ps` reads) and the dashboard (dashboard.go) both present.
//
// It imports the parts it joins (supervisor, proxy, control, dashboard,
// procfile) and is imported only by cmd/devcluster, which builds it and wires
// it to the commands.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devcluster/devcluster/control"
)

// ProcessFaults is what the fault registry needs of the supervisor: the
// process faults, and the instances with their pids (to name the known ones in
// errors, and to notice that a paused process has since been replaced).
type ProcessFaults interface {
	KillInstance(ctx context.Context, id string) error
	PauseInstance(ctx context.Context, id string) error
	ResumeInstance(ctx context.Context, id string) error
	Instances() []InstancePID // in display order
}

// InstancePID is one instance and its process, 0 when none runs.
type InstancePID struct {
	ID  string
	PID int
}

// BalancerFaults is what the fault registry needs of the proxy: its runtime
// states (HAProxy's drain, maint and weight) and its HTTP faults.
type BalancerFaults interface {
	SetDrain(id string, on bool) error
	SetMaint(id string, on bool) error
	SetWeight(id string, w int) error
	Weight(id string) (int, bool) // the weight now; false if the proxy does not balance id
	SetFault(id string, f control.Fault) error
	ClearFault(id, kind string)
}

// Clock is the registry's time: the real one in a cluster, a fake one in
// tests, which then need no sleeps to see a --for fault revert.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Faults holds every active fault of a cluster: it applies each through
// the supervisor or the proxy, remembers what it takes to undo it, and undoes it
// when it is cleared, when its --for ends (a timer owned by Run), or when the
// cluster stops (so that no paused process ignores the stop signal).
//
// One mutex, held for the whole of each change, orders a fault's start, its
// clearing and its expiry: a revert never runs between a fault's start and its
// record, and no two changes to one instance interleave.
type Faults struct {
	procs ProcessFaults
	bal   BalancerFaults
	clock Clock
	logf  func(format string, args ...any)
	wake  chan struct{} // Run re-reads the next expiry

	mu     sync.Mutex
	active map[faultKey]*activeFault
	closed bool // Run has ended: nothing is undone any more, so nothing starts
}

type faultKey struct{ instance, kind string }

// activeFault is a fault and what undoing it needs.
type activeFault struct {
	control.Fault
	pid        int // pause: the process paused; another pid means it is gone
	prevWeight int // weight: the weight to restore
}

// NewFaults returns a registry; it starts nothing. logf reports the
// faults that revert by themselves (nil: silent).
func NewFaults(procs ProcessFaults, bal BalancerFaults, clock Clock, logf func(string, ...any)) *Faults {
	if clock == nil {
		clock = realClock{}
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Faults{procs: procs, bal: bal, clock: clock, logf: logf,
		wake: make(chan struct{}, 1), active: map[faultKey]*activeFault{}}
}

// revertTimeout bounds the wait for the supervisor when a pause ends by itself
// or is cleared: the instance's goroutine may be in the middle of a stop, and
// the registry's lock is held meanwhile.
const revertTimeout = 10 * time.Second

var errFaultsStopped = control.Errorf(http.StatusServiceUnavailable, "the cluster is stopping; no new faults")

// Set applies f (checked with f.Check) and returns it as active, with Since and
// Until; the instant kinds (kill, resume, ready) return the zero Fault.
func (r *Faults) Set(ctx context.Context, f control.Fault) (control.Fault, error) {
	if err := f.Check(); err != nil {
		return control.Fault{}, control.WithCode(http.StatusBadRequest, err)
	}
	pid, err := r.lookup(f.Instance)
	if err != nil {
		return control.Fault{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return control.Fault{}, errFaultsStopped
	}
	af := &activeFault{Fault: f, pid: pid}
	if err := r.apply(ctx, af); err != nil {
		return control.Fault{}, err
	}
	if f.Instant() {
		return control.Fault{}, nil
	}
	if f.Kind == control.FaultWeight && af.Weight == af.prevWeight {
		// Back to the weight it had before any weight fault: nothing is
		// broken any more, so nothing is listed (or reverted later).
		delete(r.active, faultKey{f.Instance, f.Kind})
		r.poke()
		return af.Fault, nil
	}
	af.Since = r.clock.Now()
	af.Until = time.Time{}
	if f.For > 0 {
		af.Until = af.Since.Add(f.For)
	}
	r.active[faultKey{f.Instance, f.Kind}] = af
	r.poke()
	return af.Fault, nil
}

// apply does what af asks and forgets the faults it ends. Called with mu held.
func (r *Faults) apply(ctx context.Context, af *activeFault) error {
	id := af.Instance
	var err error
	switch af.Kind {
	case control.FaultKill:
		// SIGKILL works on a stopped process too: the pause ends with it.
		err = r.procs.KillInstance(ctx, id)
		if err == nil {
			delete(r.active, faultKey{id, control.FaultPause})
		}
	case control.FaultPause:
		err = r.procs.PauseInstance(ctx, id)
	case control.FaultResume:
		err = r.procs.ResumeInstance(ctx, id)
		if err == nil {
			delete(r.active, faultKey{id, control.FaultPause})
		}
	case control.FaultDrain:
		err = r.bal.SetDrain(id, true)
	case control.FaultMaint:
		err = r.bal.SetMaint(id, true)
	case control.FaultReady:
		// Both, whichever is on: ready means "in rotation", as HAProxy's
		// "set server state ready" ends drain and maint alike.
		err = errors.Join(r.bal.SetDrain(id, false), r.bal.SetMaint(id, false))
		if err == nil {
			delete(r.active, faultKey{id, control.FaultDrain})
			delete(r.active, faultKey{id, control.FaultMaint})
		}
	case control.FaultWeight:
		af.prevWeight, err = r.weightBefore(id)
		if err == nil {
			err = r.bal.SetWeight(id, af.Weight)
		}
	default: // the HTTP faults, one per kind per instance: a new one replaces
		err = r.bal.SetFault(id, af.Fault)
	}
	if err != nil {
		// The supervisor's errors say "pause web.2: ..." already; the proxy's
		// name their method ("set drain: ...") but not the fault.
		if prefix := af.Kind + " " + id + ":"; !strings.HasPrefix(err.Error(), prefix) {
			err = fmt.Errorf("%s %w", prefix, err)
		}
		return control.WithCode(http.StatusConflict, err)
	}
	return nil
}

// weightBefore is the weight a weight fault restores: the one before the first
// of a series, so that weight 3 then weight 5 then clear gives the original back.
func (r *Faults) weightBefore(id string) (int, error) {
	if old := r.active[faultKey{id, control.FaultWeight}]; old != nil {
		return old.prevWeight, nil
	}
	w, ok := r.bal.Weight(id)
	if !ok {
		return 0, fmt.Errorf("the balancer does not balance %s (it joins when ready; a process without a port is never balanced)", id)
	}
	return w, nil
}

// revert undoes af. Called with mu held.
func (r *Faults) revert(af *activeFault) error {
	id := af.Instance
	switch af.Kind {
	case control.FaultPause:
		if !r.samePID(af) {
			return nil // the paused process is gone: nothing to resume
		}
		ctx, cancel := context.WithTimeout(context.Background(), revertTimeout)
		defer cancel()
		return r.procs.ResumeInstance(ctx, id)
	case control.FaultDrain:
		return r.bal.SetDrain(id, false)
	case control.FaultMaint:
		return r.bal.SetMaint(id, false)
	case control.FaultWeight:
		return r.bal.SetWeight(id, af.prevWeight)
	}
	r.bal.ClearFault(id, af.Kind)
	return nil
}

// lookup returns the pid of instance id, or an error naming the instances.
func (r *Faults) lookup(id string) (int, error) {
	var ids []string
	for _, in := range r.procs.Instances() {
		if in.ID == id {
			return in.PID, nil
		}
		ids = append(ids, in.ID)
	}
	return 0, control.Errorf(http.StatusNotFound, "unknown instance %q (instances: %s)", id, strings.Join(ids, ", "))
}

func (r *Faults) samePID(af *activeFault) bool {
	for _, in := range r.procs.Instances() {
		if in.ID == af.Instance {
			return in.PID == af.pid
		}
	}
	return false
}

// List returns the active faults, by instance in display order, then in the
// order of control.FaultKinds. It forgets the faults whose target is gone: an
// instance scaled away, a paused process that was killed or restarted.
func (r *Faults) List() []control.Fault {
	order := map[string]int{}
	pids := map[string]int{}
	for i, in := range r.procs.Instances() {
		order[in.ID], pids[in.ID] = i, in.PID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []control.Fault
	for k, af := range r.active {
		pid, ok := pids[k.instance]
		if !ok || (k.kind == control.FaultPause && pid != af.pid) {
			delete(r.active, k)
			if !ok && af.HTTP() {
				// The proxy keeps an HTTP fault across restarts: one scaled
				// away must not come back with the instance's id unlisted.
				r.bal.ClearFault(k.instance, k.kind)
			}
			continue
		}
		out = append(out, af.Fault)
	}
	kinds := control.FaultKinds()
	slices.SortFunc(out, func(a, b control.Fault) int {
		if d := order[a.Instance] - order[b.Instance]; d != 0 {
			return d
		}
		return slices.Index(kinds, a.Kind) - slices.Index(kinds, b.Kind)
	})
	return out
}

// Clear ends every fault of instance ("" for all) and returns those it ended.
// A fault whose undoing fails is forgotten all the same (its target is usually
// gone); the error says which.
func (r *Faults) Clear(instance string) ([]control.Fault, error) {
	if instance != "" {
		if _, err := r.lookup(instance); err != nil {
			return nil, err
		}
	}
	list := r.List()
	r.mu.Lock()
	defer r.mu.Unlock()
	var cleared []control.Fault
	var errs []error
	for _, f := range list {
		if instance != "" && f.Instance != instance {
			continue
		}
		k := faultKey{f.Instance, f.Kind}
		af := r.active[k]
		if af == nil {
			continue // expired meanwhile
		}
		delete(r.active, k)
		cleared = append(cleared, f)
		if err := r.revert(af); err != nil {
			errs = append(errs, fmt.Errorf("clear %s: %w", f, err))
		}
	}
	r.poke()
	return cleared, errors.Join(errs...)
}

// poke tells Run to look at the expiries again; it never blocks.
func (r *Faults) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run reverts each --for fault when its time is up, until ctx is done; then it
// clears every fault and refuses new ones. It returns nil.
func (r *Faults) Run(ctx context.Context) error {
	for {
		var timer <-chan time.Time
		if next, ok := r.nextExpiry(); ok {
			timer = r.clock.After(next.Sub(r.clock.Now()))
		}
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.closed = true
			r.mu.Unlock()
			if _, err := r.Clear(""); err != nil {
				r.logf("%v", err)
			}
			return nil
		case <-r.wake:
		case <-timer:
			r.expire()
		}
	}
}

func (r *Faults) nextExpiry() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, af := range r.active {
		if !af.Until.IsZero() && (next.IsZero() || af.Until.Before(next)) {
			next = af.Until
		}
	}
	return next, !next.IsZero()
}

// expire reverts the faults whose Until has come.
func (r *Faults) expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	for k, af := range r.active {
		if af.Until.IsZero() || af.Until.After(now) {
			continue
		}
		delete(r.active, k)
		if err := r.revert(af); err != nil {
			r.logf("fault %s: its --for %s is over, but undoing it failed: %v", af.Fault, af.For, err)
			continue
		}
		r.logf("fault %s ended: its --for %s is over", af.Fault, af.For)
	}
}
