package dashboard

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ActionKind names what a button does. The names are those of the CLI
// (`devcluster restart`, `devcluster fault delay`, ...).
type ActionKind string

// Actions on one instance (Target "web.2"), unless said otherwise.
const (
	ActRestart     ActionKind = "restart" // Target: instance or process
	ActStop        ActionKind = "stop"
	ActStart       ActionKind = "start"
	ActKill        ActionKind = "kill"    // SIGKILL; the restart policy brings it back
	ActPause       ActionKind = "pause"   // SIGSTOP of the process group
	ActResume      ActionKind = "resume"  // SIGCONT
	ActDrain       ActionKind = "drain"   // balancer: no new requests
	ActReady       ActionKind = "ready"   // balancer: back in rotation
	ActMaint       ActionKind = "maint"   // balancer: out of rotation, not checked
	ActDelay       ActionKind = "delay"   // Duration, Jitter, Percent
	ActFail        ActionKind = "fail"    // Percent, Status
	ActReset       ActionKind = "reset"   // Percent: the client connection is reset mid-response
	ActTimeout     ActionKind = "timeout" // Percent: accepted and never answered (the proxy answers 504)
	ActWeight      ActionKind = "weight"  // Weight
	ActScale       ActionKind = "scale"   // Target: process; N
	ActReload      ActionKind = "reload"  // Target: process or instance
	ActClearFaults ActionKind = "clear"   // Target: instance, or "" for every instance
	// ActLoad starts a load through the proxy (devcluster load from a button):
	// Path, N users, Duration, Rate (0: closed loop); no Target. ActLoadStop
	// ends it.
	ActLoad     ActionKind = "load"
	ActLoadStop ActionKind = "load-stop"
)

// Action is what a button on the page asks the cluster to do. In JSON,
// durations are in milliseconds (duration_ms, jitter_ms, for_ms).
type Action struct {
	Kind     ActionKind    `json:"kind"`
	Target   string        `json:"target"`  // "web.2", or "web" for scale/reload/restart
	Duration time.Duration `json:"-"`       // delay: added latency
	Jitter   time.Duration `json:"-"`       // delay: ± this much, uniformly
	Percent  float64       `json:"percent"` // delay, fail, reset, timeout: share of requests hit (0 < p <= 100)
	Status   int           `json:"status"`  // fail: the status the proxy answers with
	Weight   int           `json:"weight"`  // weight: 0..256
	N        int           `json:"n"`       // scale: instance count
	For      time.Duration `json:"-"`       // a fault reverts by itself after this long; 0: until cleared
	Path     string        `json:"path"`    // load: the path requested
	Rate     float64       `json:"rate"`    // load: requests due per second (open loop); 0: closed loop
}

// Limits of the values an action may carry.
const (
	MaxWeight    = 256
	MaxScale     = 1000
	MaxDelay     = time.Hour
	MaxFaultTime = 24 * time.Hour
	MaxLoadUsers = 256
	MaxLoadTime  = 10 * time.Minute
	MaxLoadRate  = 100_000
)

var kinds = map[ActionKind]bool{
	ActRestart: true, ActStop: true, ActStart: true, ActKill: true, ActPause: true,
	ActResume: true, ActDrain: true, ActReady: true, ActMaint: true, ActDelay: true,
	ActFail: true, ActReset: true, ActTimeout: true, ActWeight: true, ActScale: true, ActReload: true, ActClearFaults: true,
	ActLoad: true, ActLoadStop: true,
}

// TargetsProcess reports whether the action's Target may be a process name.
func (a Action) TargetsProcess() bool {
	return a.Kind == ActScale || a.Kind == ActReload || a.Kind == ActRestart
}

// hasPercent reports whether the action is an HTTP fault, which hits a share
// of the requests (Percent), as the proxy's faults do.
func (a Action) hasPercent() bool {
	switch a.Kind {
	case ActDelay, ActFail, ActReset, ActTimeout:
		return true
	}
	return false
}

// Validate checks the action's shape (not whether its target exists), with a
// message that says what is wrong and what is allowed.
func (a Action) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if !kinds[a.Kind] {
		return fmt.Errorf("unknown action %q (actions: %s)", a.Kind, kindList())
	}
	if a.Target == "" && a.Kind != ActClearFaults && a.Kind != ActLoad && a.Kind != ActLoadStop {
		add("%s needs a target", a.Kind)
	}
	switch a.Kind {
	case ActDelay:
		if a.Duration <= 0 || a.Duration > MaxDelay {
			add("delay must be between 1ms and %s, got %s", MaxDelay, a.Duration)
		}
		if a.Jitter < 0 || a.Jitter > a.Duration {
			add("jitter must be between 0 and the delay (%s), got %s", a.Duration, a.Jitter)
		}
	case ActFail:
		if a.Status < 100 || a.Status > 599 {
			add("status must be an HTTP status 100..599, got %d", a.Status)
		}
	case ActWeight:
		if a.Weight < 0 || a.Weight > MaxWeight {
			add("weight must be between 0 and %d, got %d", MaxWeight, a.Weight)
		}
	case ActScale:
		if a.N < 0 || a.N > MaxScale {
			add("instance count must be between 0 and %d, got %d", MaxScale, a.N)
		}
	case ActLoad:
		a.validateLoad(add)
	}
	if a.hasPercent() {
		if !(a.Percent > 0 && a.Percent <= 100) {
			add("percent must be above 0 and at most 100, got %g", a.Percent)
		}
	}
	if a.For < 0 || a.For > MaxFaultTime {
		add("for must be between 0 (until cleared) and %s, got %s", MaxFaultTime, a.For)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func kindList() string {
	var names []string
	for _, k := range []ActionKind{ActRestart, ActStop, ActStart, ActKill, ActPause, ActResume,
		ActDrain, ActReady, ActMaint, ActDelay, ActFail, ActReset, ActTimeout, ActWeight, ActScale, ActReload, ActClearFaults,
		ActLoad, ActLoadStop} {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// actionJSON is Action as the page sends it.
type actionJSON struct {
	Kind       ActionKind `json:"kind"`
	Target     string     `json:"target"`
	DurationMS float64    `json:"duration_ms"`
	JitterMS   float64    `json:"jitter_ms"`
	Percent    *float64   `json:"percent"` // absent: 100 for the HTTP faults (delay, fail, reset, timeout)
	Status     int        `json:"status"`
	Weight     int        `json:"weight"`
	N          int        `json:"n"`
	ForMS      float64    `json:"for_ms"`
	Path       string     `json:"path"`
	Rate       float64    `json:"rate"`
}

func (j actionJSON) action() Action {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	a := Action{Kind: j.Kind, Target: j.Target, Duration: ms(j.DurationMS), Jitter: ms(j.JitterMS),
		Status: j.Status, Weight: j.Weight, N: j.N, For: ms(j.ForMS), Path: j.Path, Rate: j.Rate}
	switch {
	case j.Percent != nil:
		a.Percent = *j.Percent
	case a.hasPercent():
		a.Percent = 100 // every request, as the CLI without --percent
	}
	if a.Kind == ActFail && a.Status == 0 {
		a.Status = 503
	}
	return a
}

// checkTarget reports an unknown target, naming the known ones.
func checkTarget(a Action, s Snapshot) error {
	if a.Target == "" {
		return nil
	}
	var known []string
	if a.TargetsProcess() {
		for _, p := range s.Processes {
			if p.Name == a.Target {
				return nil
			}
		}
	}
	if a.Kind != ActScale {
		for _, in := range s.Instances {
			if in.ID == a.Target {
				return nil
			}
			known = append(known, in.ID)
		}
	} else {
		for _, p := range s.Processes {
			known = append(known, p.Name)
		}
	}
	what := "instance"
	if a.Kind == ActScale {
		what = "process"
	}
	return fmt.Errorf("unknown %s %q (known: %s)", what, a.Target, strings.Join(known, ", "))
}

// validateLoad checks a load's shape: bounded, as devcluster load always is.
func (a Action) validateLoad(add func(string, ...any)) {
	if !strings.HasPrefix(a.Path, "/") || strings.ContainsAny(a.Path, " \r\n") {
		add("load path must start with / and have no spaces, got %q", a.Path)
	}
	if a.N < 1 || a.N > MaxLoadUsers {
		add("load users must be between 1 and %d, got %d", MaxLoadUsers, a.N)
	}
	if a.Duration < time.Second || a.Duration > MaxLoadTime {
		add("load duration must be between 1s and %s, got %s", MaxLoadTime, a.Duration)
	}
	if a.Rate < 0 || a.Rate > MaxLoadRate {
		add("load rate must be between 0 (closed loop) and %d requests/s, got %g", MaxLoadRate, a.Rate)
	}
}
