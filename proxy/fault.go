package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTP faults, Envoy's fault filter model: the proxy delays, fails, resets or
// holds a share of one instance's requests. They go through the proxy's own
// failure handling rather than around it: a fail 503 is that instance's 503
// (retried under retry_on 503, counted as its 5xx), a timeout is a request
// owed a response head (504 at ResponseTimeout, seen by stall detection,
// retried under retry_on response-timeout), a reset breaks the client's
// connection in the middle of the instance's real response.

// Fault kinds.
const (
	FaultDelay   = "delay"   // Delay (± Jitter) added before the request is forwarded
	FaultFail    = "fail"    // the proxy answers Status instead of the instance
	FaultReset   = "reset"   // the client connection is reset in the middle of the response
	FaultTimeout = "timeout" // the request is held, never forwarded, until ResponseTimeout (504)
)

// MaxFaultDelay bounds a delay, from the control API (control.MaxFaultDelay)
// or a request's X-Devcluster-Fault alike: beyond an hour it is a typo, not a
// test, and a held request costs a socket and a goroutine all that time.
const MaxFaultDelay = time.Hour

// faultKinds is the order in which faults apply and are listed.
var faultKinds = [...]string{FaultDelay, FaultFail, FaultReset, FaultTimeout}

// Fault is an HTTP fault on one instance's requests.
type Fault struct {
	Kind    string        // "delay", "fail", "reset", "timeout"
	Delay   time.Duration // delay: added before forwarding
	Jitter  time.Duration // delay: ± uniformly
	Percent float64       // share of requests hit, 0 < p <= 100 (0 means 100)
	Status  int           // fail: the status the proxy answers with (0 means 503)
}

// String describes f as the access log's decisions do: "delay 300ms",
// "fail 503 50%".
func (f Fault) String() string {
	s := f.Kind
	switch f.Kind {
	case FaultDelay:
		s += " " + f.Delay.String()
		if f.Jitter > 0 {
			s += "±" + f.Jitter.String()
		}
	case FaultFail:
		s += " " + strconv.Itoa(f.Status)
	}
	if f.Percent > 0 && f.Percent < 100 {
		s += " " + strconv.FormatFloat(f.Percent, 'f', -1, 64) + "%"
	}
	return s
}

// normalize fills f's defaults and says what is wrong with it.
func (f Fault) normalize() (Fault, error) {
	if f.Percent == 0 {
		f.Percent = 100
	}
	if !(f.Percent > 0 && f.Percent <= 100) { // also NaN
		return f, fmt.Errorf("percent %v: want more than 0 and at most 100", f.Percent)
	}
	switch f.Kind {
	case FaultDelay:
		if f.Delay <= 0 || f.Delay > MaxFaultDelay {
			return f, fmt.Errorf("delay %v: want a positive duration of at most %v, such as 300ms", f.Delay, MaxFaultDelay)
		}
		if f.Jitter < 0 || f.Jitter > f.Delay {
			return f, fmt.Errorf("jitter %v: want zero or a positive duration of at most the delay (%v)", f.Jitter, f.Delay)
		}
	case FaultFail:
		if f.Status == 0 {
			f.Status = http.StatusServiceUnavailable
		}
		if f.Status < 200 || f.Status > 599 {
			return f, fmt.Errorf("status %d: want 200 to 599, such as 503", f.Status)
		}
	case FaultReset, FaultTimeout:
	default:
		return f, fmt.Errorf("unknown fault kind %q (want %s)", f.Kind, strings.Join(faultKinds[:], ", "))
	}
	if f.Kind != FaultDelay && (f.Delay != 0 || f.Jitter != 0) {
		return f, fmt.Errorf("a %s fault takes no delay or jitter", f.Kind)
	}
	if f.Kind != FaultFail && f.Status != 0 {
		return f, fmt.Errorf("a %s fault takes no status", f.Kind)
	}
	return f, nil
}

// faultChanges returns a channel closed at the next change of the fault
// table: a held request (faultapply.go's hold) then looks whether its fault
// is still there.
func (p *Proxy) faultChanges() <-chan struct{} {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	if p.faultChange == nil {
		p.faultChange = make(chan struct{})
	}
	return p.faultChange
}

// faultSet is one instance's faults, indexed as faultKinds; nil: none of that kind.
type faultSet [len(faultKinds)]*Fault

func kindIndex(kind string) int {
	for i, k := range faultKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// SetFault starts fault f on instance id, replacing its fault of the same
// kind. It takes effect on the next request; the fault lasts until cleared,
// also across restarts of the instance.
func (p *Proxy) SetFault(id string, f Fault) error {
	if p.poolOf(id) == nil {
		return fmt.Errorf("set fault: no instance %q in the balancer (it is enabled once it is ready)", id)
	}
	f, err := f.normalize()
	if err != nil {
		return fmt.Errorf("set fault on %s: %w", id, err)
	}
	p.updateFaults(func(m map[string]faultSet) {
		fs := m[id]
		fs[kindIndex(f.Kind)] = &f
		m[id] = fs
	})
	return nil
}

// ClearFault ends instance id's fault of kind ("" every kind).
func (p *Proxy) ClearFault(id, kind string) {
	p.updateFaults(func(m map[string]faultSet) {
		fs, ok := m[id]
		if !ok {
			return
		}
		if i := kindIndex(kind); i >= 0 {
			fs[i] = nil
		} else if kind == "" {
			fs = faultSet{}
		}
		if fs == (faultSet{}) {
			delete(m, id)
		} else {
			m[id] = fs
		}
	})
}

// ClearFaults ends every fault of every instance.
func (p *Proxy) ClearFaults() {
	p.updateFaults(func(m map[string]faultSet) { clear(m) })
}

// Faults returns the active faults by instance id, in faultKinds order.
func (p *Proxy) Faults() map[string][]Fault {
	out := map[string][]Fault{}
	if m := p.faults.Load(); m != nil {
		for id, fs := range *m {
			out[id] = fs.list()
		}
	}
	return out
}

func (fs *faultSet) list() []Fault {
	var out []Fault
	for _, f := range fs {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// updateFaults replaces the fault table with a changed copy. The forwarding
// path reads it with one atomic load; nil when no fault is set, so requests
// pay nothing for the feature until it is used.
func (p *Proxy) updateFaults(change func(map[string]faultSet)) {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	m := map[string]faultSet{}
	if old := p.faults.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	change(m)
	if p.faultChange != nil {
		close(p.faultChange)
		p.faultChange = nil
	}
	if len(m) == 0 {
		p.faults.Store(nil)
		return
	}
	p.faults.Store(&m)
}

// faultsOf returns b's faults, or nil.
func (p *Proxy) faultsOf(b *backend) *faultSet {
	m := p.faults.Load()
	if m == nil {
		return nil
	}
	fs, ok := (*m)[b.id]
	if !ok {
		return nil
	}
	return &fs
}

// hits rolls the dice for f.
func (f *Fault) hits(d *dice) bool { return f.Percent >= 100 || d.float64()*100 < f.Percent }

// delayFor is f's delay for one request, jittered.
func (f *Fault) delayFor(d *dice) time.Duration {
	delay := f.Delay
	if f.Jitter > 0 {
		delay += time.Duration(d.int64N(2*int64(f.Jitter)+1)) - f.Jitter
	}
	return max(delay, 0)
}

// parseFaultHeader reads an X-Devcluster-Fault header: a comma-separated list
// of delay=DURATION, fail=STATUS, reset and timeout, each applying to this
// request alone.
func parseFaultHeader(v string) (faultSet, error) {
	var fs faultSet
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, arg, hasArg := strings.Cut(part, "=")
		f := Fault{Kind: strings.TrimSpace(kind)}
		arg = strings.TrimSpace(arg)
		var err error
		switch {
		case f.Kind == FaultDelay && hasArg:
			f.Delay, err = time.ParseDuration(arg)
		case f.Kind == FaultFail && hasArg:
			f.Status, err = strconv.Atoi(arg)
		case hasArg && (f.Kind == FaultReset || f.Kind == FaultTimeout):
			err = errors.New("takes no value")
		case !hasArg && (f.Kind == FaultDelay || f.Kind == FaultFail):
			err = errors.New("needs a value")
		}
		if err == nil {
			f, err = f.normalize()
		}
		if err != nil {
			return fs, fmt.Errorf("X-Devcluster-Fault %q: %q: %v (want delay=200ms, fail=503, reset or timeout, comma-separated)", v, part, err)
		}
		fs[kindIndex(f.Kind)] = &f
	}
	return fs, nil
}
