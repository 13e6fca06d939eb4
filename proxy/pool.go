package proxy

import (
	"context"
	"hash/maphash"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// state is a backend's place in the rotation. Only stateUp is in it.
type state int32

const (
	stateUp       state = iota // in rotation
	stateDown                  // failed health checks; checked until it recovers
	stateDraining              // no new requests, waiting for in-flight ones
	stateDrained               // out of rotation until Enable
	stateRemoved               // forgotten
	stateMaint                 // put out of rotation by SetMaint, and not checked
)

func (s state) String() string {
	switch s {
	case stateUp:
		return "up"
	case stateDown:
		return "down"
	case stateDraining:
		return "draining"
	case stateDrained:
		return "drained"
	case stateMaint:
		return "maint"
	default:
		return "removed"
	}
}

// endpoint is one incarnation of a backend. A new endpoint is stored whenever the
// backend is enabled, drained or removed, so connections cached by client
// connections for an older incarnation are recognised as stale by pointer identity.
type endpoint struct {
	addr string
	// A literal IP address as a struct sockaddr, made once for dialBackend
	// (Linux); nil for a host name, which net.Dialer resolves.
	sa     *rawSockaddr
	family int
	tcp    *net.TCPAddr
}

// backend is one instance ("web.2") of a balanced process.
type backend struct {
	id     string
	index  int
	idHash uint64
	pool   *pool

	ep     atomic.Pointer[endpoint]
	st     atomic.Int32
	weight atomic.Int32

	active   atomic.Int64
	requests atomic.Uint64
	failures atomic.Uint64
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	connects atomic.Uint64
	redials  atomic.Uint64
	retries  atomic.Uint64 // requests that failed here and were sent elsewhere
	connFail atomic.Uint64 // request attempts whose connect to the instance failed (BackendStats.ConnectFailures)
	stall    stallWatch
	carried  atomic.Pointer[backend] // the instance's earlier incarnation (see counts)

	// Guarded by pool.mu.
	lastCheck check // the last active check's result
	maint     bool  // set by SetMaint: kept across Drain and Enable
	drainSet  bool  // set by SetDrain: up, but only sticky clients (drain.go)
	hung      bool  // down by checkStall: checked by HTTP until it answers
	lastErr   string
	since     time.Time
	okRun     int
	failRun   int
	idle      chan struct{} // closed when active drops to 0 while draining
	stopCheck context.CancelFunc
	// away is closed when a drain starts: the WebSocket tunnels to this
	// incarnation close with 1001 (see goaway.go). Made by awayChan.
	away chan struct{}
}

func (b *backend) state() state { return state(b.st.Load()) }

// begin and end bracket one forwarded request (or tunnel).
func (b *backend) begin() { b.active.Add(1); b.requests.Add(1) }

func (b *backend) end() {
	if b.active.Add(-1) == 0 && b.state() == stateDraining {
		b.pool.notifyIdle(b)
	}
}

// poolView is an immutable snapshot of the backends in rotation. Selection reads it
// without locks; every change replaces it and closes changed, which wakes requests
// waiting for an instance.
type poolView struct {
	ready   []*backend // in rotation, ordered by instance index
	ring    []*backend // ready expanded by weight, smoothly interleaved
	sticky  []*backend // up but drained by SetDrain: their sticky clients only
	changed chan struct{}
}

// find returns the instance id if it can take a sticky client.
func (v *poolView) find(id string) *backend {
	for _, b := range v.ready {
		if b.id == id {
			return b
		}
	}
	for _, b := range v.sticky {
		if b.id == id {
			return b
		}
	}
	return nil
}

// pool is the set of instances of one balanced process.
type pool struct {
	p      *Proxy
	cfg    PoolConfig
	health HealthConfig
	sel    selector

	view atomic.Pointer[poolView]

	waiting atomic.Int64 // requests waiting for an instance

	mu       sync.Mutex
	backends map[string]*backend
	gone     map[string]*backend // removed, by instance: their counters, for the next Enable
}

var hashSeed = maphash.MakeSeed()

func newPool(p *Proxy, pc PoolConfig, sel selector) *pool {
	pl := &pool{p: p, cfg: pc, health: pc.Health.withDefaults(), sel: sel, backends: map[string]*backend{}}
	pl.view.Store(&poolView{changed: make(chan struct{})})
	return pl
}

// instanceIndex returns N of "web.N", or 0 when the suffix is not a number.
func instanceIndex(id string) int {
	n, err := strconv.Atoi(id[strings.LastIndexByte(id, '.')+1:])
	if err != nil {
		return 0
	}
	return n
}

func (pl *pool) enable(id, addr string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	b := pl.backends[id]
	if b == nil {
		b = &backend{id: id, index: instanceIndex(id), pool: pl, idHash: maphash.String(hashSeed, id)}
		w := pl.cfg.Weight
		if o := pl.cfg.Weights[id]; o > 0 {
			w = o
		}
		if w <= 0 {
			w = 1
		}
		b.weight.Store(int32(w))
		if old := pl.gone[id]; old != nil {
			b.carryFrom(old)
			delete(pl.gone, id)
		}
		pl.backends[id] = b
	}
	b.ep.Store(newEndpoint(addr))
	if b.maint {
		b.st.Store(int32(stateMaint))
	} else {
		b.st.Store(int32(stateUp))
	}
	if b.idle != nil { // a Drain in progress is overtaken: let it return
		close(b.idle)
		b.idle = nil
	}
	b.lastErr, b.okRun, b.failRun, b.since = "", 0, 0, pl.p.now()
	b.hung = false
	pl.rebuildLocked()
	pl.p.startCheckLocked(b)
}

// drain takes id out of rotation and waits until its in-flight requests are done.
func (pl *pool) drain(ctx context.Context, id string) error {
	pl.mu.Lock()
	b := pl.backends[id]
	if b == nil || b.state() == stateDrained {
		pl.mu.Unlock()
		return nil
	}
	b.st.Store(int32(stateDraining))
	b.since = pl.p.now()
	b.goAwayLocked()
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	idle := b.idle
	pl.rebuildLocked()
	pl.mu.Unlock()
	if b.active.Load() == 0 {
		pl.notifyIdle(b)
	}
	select {
	case <-idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	pl.mu.Lock()
	if b.state() == stateDraining {
		b.st.Store(int32(stateDrained))
		b.ep.Store(newEndpoint(b.ep.Load().addr)) // cached connections are now stale
	}
	pl.mu.Unlock()
	return nil
}

func (pl *pool) notifyIdle(b *backend) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if b.idle != nil && b.active.Load() == 0 && b.state() == stateDraining {
		close(b.idle)
		b.idle = nil
	}
}

func (pl *pool) remove(id string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	b := pl.backends[id]
	if b == nil {
		return
	}
	delete(pl.backends, id)
	if pl.gone == nil {
		pl.gone = make(map[string]*backend)
	}
	pl.gone[id] = b
	b.st.Store(int32(stateRemoved))
	b.goAwayLocked()
	b.ep.Store(newEndpoint(b.ep.Load().addr))
	if b.stopCheck != nil {
		b.stopCheck()
		b.stopCheck = nil
	}
	if b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
	pl.rebuildLocked()
}

// rebuildLocked publishes a new view from the backends that are up.
func (pl *pool) rebuildLocked() {
	var ready, sticky []*backend
	for _, b := range pl.backends {
		switch {
		case b.state() != stateUp:
		case b.drainSet:
			sticky = append(sticky, b)
		default:
			ready = append(ready, b)
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if ready[i].index != ready[j].index {
			return ready[i].index < ready[j].index
		}
		return ready[i].id < ready[j].id
	})
	nv := &poolView{ready: ready, ring: weightedRing(ready), sticky: sticky, changed: make(chan struct{})}
	old := pl.view.Swap(nv)
	close(old.changed)
}

// weightedRing interleaves backends by weight with nginx's smooth weighted
// round-robin, so weight 2,1 gives a,b,a rather than a,a,b.
func weightedRing(ready []*backend) []*backend {
	total, equal := 0, true
	for _, b := range ready {
		w := int(b.weight.Load())
		total += w
		if w != 1 {
			equal = false
		}
	}
	if equal {
		return ready
	}
	cur := make([]int, len(ready))
	ring := make([]*backend, 0, total)
	for range total {
		best := 0
		for i, b := range ready {
			cur[i] += int(b.weight.Load())
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		ring = append(ring, ready[best])
	}
	return ring
}

// report records the result of an active or passive check and moves the backend
// between up and down, logging one line per change. A passive connection failure
// (down=true) takes the backend down at once.
func (pl *pool) report(b *backend, ok bool, detail string, down bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	st := b.state()
	if st != stateUp && st != stateDown {
		return
	}
	h := pl.health
	if ok {
		b.failRun = 0
		b.okRun++
		if st == stateDown && b.okRun >= h.Rise {
			b.hung = false
			b.st.Store(int32(stateUp))
			b.since = pl.p.now()
			pl.p.logf("%s is UP: %s (%d/%d successes)", b.id, detail, min(b.okRun, h.Rise), h.Rise)
			pl.rebuildLocked()
		}
		return
	}
	b.okRun = 0
	b.failRun++
	b.failures.Add(1)
	b.lastErr = detail
	if st != stateUp {
		return
	}
	switch {
	case down:
		b.st.Store(int32(stateDown))
		b.since = pl.p.now()
		pl.p.logf("%s is DOWN: %s (passive)", b.id, detail)
		pl.rebuildLocked()
	case b.failRun >= h.Fall:
		b.st.Store(int32(stateDown))
		b.since = pl.p.now()
		pl.p.logf("%s is DOWN: %s (%d/%d failures)", b.id, detail, min(b.failRun, h.Fall), h.Fall)
		pl.rebuildLocked()
	}
}

// check is the result of one active health check, for Stats.
type check struct {
	at     time.Time
	ok     bool
	result string
	took   time.Duration
}

// checked records an active check's result and applies it as report does.
func (pl *pool) checked(b *backend, c check) {
	pl.mu.Lock()
	b.lastCheck = c
	pl.mu.Unlock()
	pl.report(b, c.ok, c.result, false)
}

// setMaint puts b out of rotation without checks (on), or back into it (off).
// A draining or drained instance stays so and enters maint at its next Enable.
// Leaving maint puts it straight into rotation, as Enable does: if it is not
// well, its checks or the first failed connect take it out again.
func (pl *pool) setMaint(b *backend, on bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	b.maint = on
	st := b.state()
	switch {
	case on && (st == stateUp || st == stateDown):
		b.st.Store(int32(stateMaint))
	case !on && st == stateMaint:
		b.st.Store(int32(stateUp))
		b.okRun, b.failRun = 0, 0
	default:
		return
	}
	b.since = pl.p.now()
	pl.p.logf("%s is %s: set by the user", b.id, strings.ToUpper(b.state().String()))
	pl.rebuildLocked()
}

// stalled takes b, which checkStall found hung, out of rotation.
func (pl *pool) stalled(b *backend, detail string, c check) {
	pl.mu.Lock()
	b.lastCheck = c
	if b.state() == stateUp {
		b.hung = true
	}
	pl.mu.Unlock()
	pl.report(b, false, detail, true)
}

func (pl *pool) isStalled(b *backend) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return b.hung
}

// setLastError records a request failure that does not change the state.
func (pl *pool) setLastError(b *backend, detail string) {
	b.failures.Add(1)
	pl.mu.Lock()
	b.lastErr = detail
	pl.mu.Unlock()
}

// describe explains for a 503 why no instance of the pool is ready.
func (pl *pool) describe() string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.backends) == 0 {
		return "no instance of " + pl.cfg.Process + " is running"
	}
	bs := make([]*backend, 0, len(pl.backends))
	for _, b := range pl.backends {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].index < bs[j].index })
	var sb strings.Builder
	sb.WriteString("no ready instance of " + pl.cfg.Process + ":")
	for _, b := range bs {
		sb.WriteString("\n  " + b.id + " (" + b.ep.Load().addr + ") is " + b.state().String())
		if b.lastErr != "" && b.state() == stateDown {
			sb.WriteString(": " + b.lastErr)
		}
	}
	return sb.String()
}

// wait returns a view with at least one ready backend, waiting until deadline for
// one to be enabled or to come back up.
func (pl *pool) wait(ctx context.Context, deadline time.Time) *poolView {
	pl.waiting.Add(1)
	defer pl.waiting.Add(-1)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		v := pl.view.Load()
		if len(v.ready) > 0 {
			return v
		}
		d := time.Until(deadline)
		if d <= 0 {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-v.changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// dialer returns the address of b's current incarnation.
func (b *backend) addr() string { return b.ep.Load().addr }

// maxWeight is HAProxy's largest server weight.
const maxWeight = 256

// setWeight changes b's weight and rebuilds the rotation with it.
func (pl *pool) setWeight(b *backend, w int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	b.weight.Store(int32(w))
	pl.rebuildLocked()
}
