// Package control is the local API of a running devcluster: `devcluster up`
// serves it over a unix socket in the project (.devcluster/control.sock) and
// `devcluster ps/restart/stop/start/scale/logs/down` talk to it through Client.
//
// The package knows nothing of the supervisor or the proxy: it serves any
// Cluster, and cmd/devcluster adapts the running parts to that interface.
// The transport is HTTP/1.1 with JSON bodies; see Server for the endpoints.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Cluster is what the control server needs from a running devcluster.
//
// Methods are called concurrently, one goroutine per request. ctx is done when
// the client goes away or the server shuts down; long operations (rolling
// restarts, scaling, draining) should give up then. Validation of targets is
// the implementation's job: return an *Error (see Errorf, WithCode) to choose
// the HTTP status; the message reaches the user unchanged, so write it for them,
// e.g. `unknown instance "web.9" (instances: web.1, web.2, web.3)`.
type Cluster interface {
	// Status describes the cluster and every instance, in display order.
	// Instance.Uptime may be left zero: the server then computes it from Since
	// for live states.
	Status(ctx context.Context) (Status, error)
	// Restart restarts, one instance at a time, the named processes ("web")
	// or instances ("web.2"); no targets means every process.
	Restart(ctx context.Context, targets []string) error
	// Stop drains and stops each instance; it stays stopped (no auto-restart).
	Stop(ctx context.Context, ids []string) error
	// Start brings stopped instances back.
	Start(ctx context.Context, ids []string) error
	// Scale sets the number of instances of process to n (n >= 0).
	Scale(ctx context.Context, process string, n int) error
	// Logs calls out with the last n buffered lines of the given instances or
	// processes (all when ids is empty; n < 0: everything buffered; n == 0:
	// none), oldest first, and then, if follow, with every new line until ctx
	// is done. out returns an error once the client is gone; Logs should then
	// return (any error it returns then is ignored). Call out from one
	// goroutine at a time and never after Logs has returned. Return nil, or
	// ctx.Err() when following ended because ctx was done. An error returned
	// before the first line reaches the client with its own HTTP status;
	// later, it ends the stream as a final {"error": ...} line.
	Logs(ctx context.Context, ids []string, n int, follow bool, out func(LogLine) error) error
	// Down starts the same clean stop as Ctrl-C in the `up` terminal and
	// returns without waiting for it: the server answers the client first,
	// and the client then waits for the socket to go away.
	Down(ctx context.Context) error
	// SetFault starts the fault f describes on f.Instance (the server has
	// checked its shape with Fault.Check), replacing one of the same kind, and
	// returns it as now active, with Since and Until set. The instant kinds
	// (kill) and those that end faults (resume, ready) are done at once and
	// return the zero Fault.
	SetFault(ctx context.Context, f Fault) (Fault, error)
	// ClearFaults ends every fault of instance ("" for every instance), as
	// each would have ended by itself, and returns those it ended.
	ClearFaults(ctx context.Context, instance string) ([]Fault, error)
	// Faults lists the active faults in display order: by instance, then in
	// the order of FaultKinds.
	Faults(ctx context.Context) ([]Fault, error)
}

// Instance states, as the supervisor reports them.
const (
	StateWaiting      = "waiting" // for the processes it depends on (depends_on:)
	StateStarting     = "starting"
	StateRunning      = "running" // started; no readiness rule says it is ready
	StateReady        = "ready"
	StateDraining     = "draining"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateDown         = "down"
	StateCrashLooping = "crash-looping"
)

// States lists every instance state, in the order an instance meets them.
// They are the supervisor's, repeated here because control imports no other
// devcluster package; cmd/devcluster's drift test compares the two lists.
func States() []string {
	return []string{StateWaiting, StateStarting, StateRunning, StateReady, StateDraining, StateStopping, StateStopped, StateDown, StateCrashLooping}
}

// BalancerStates lists every state of Balancer.State, as the proxy names them.
func BalancerStates() []string {
	return []string{BalancerUp, BalancerDown, BalancerDraining, BalancerDrained, BalancerMaint, BalancerDrain}
}

// live reports whether an instance in state has a running process.
func live(state string) bool {
	switch state {
	case StateStarting, StateRunning, StateReady, StateDraining, StateStopping:
		return true
	}
	return false
}

// Status is the answer to GET /v1/status and the table of `devcluster ps`.
type Status struct {
	PID      int    `json:"pid"`      // the `devcluster up` process
	Dir      string `json:"dir"`      // project directory
	Manifest string `json:"manifest"` // manifest path
	Proxy    string `json:"proxy"`    // proxy listen address, "" when no proxy
	// ProxyURL is the URL clients reach the proxy at: https:// when it serves
	// HTTPS (there, or on https_listen), else http://; "" when no proxy.
	ProxyURL string `json:"proxy_url,omitempty"`
	// Followers is how many `devcluster logs -f` streams are open (scripts
	// wait for one before they make the line it must show).
	Followers int    `json:"followers"`
	Strategy  string `json:"strategy"` // balancing strategy: roundrobin, leastconn, ...
	// Seed is the seed of the proxy's random choices (up --seed repeats them);
	// 0 when no proxy runs.
	Seed      uint64     `json:"seed,omitempty"`
	Started   time.Time  `json:"started"`
	Instances []Instance `json:"instances"`
	// Faults are the active faults (Cluster.Faults); [] in JSON when none.
	Faults []Fault `json:"faults"`
	// Dashboard is the live page's URL, with the run's token; "" when off.
	Dashboard string `json:"dashboard,omitempty"`
}

// Instance is one row of `devcluster ps`.
//
// In JSON, Uptime is "uptime_seconds" (a number) so that scripts need not parse
// Go durations; every other field is named after its Go field in snake case.
type Instance struct {
	ID      string `json:"id"`      // "web.2"
	Process string `json:"process"` // "web"
	Index   int    `json:"index"`   // 1-based
	Port    int    `json:"port"`
	PID     int    `json:"pid"` // 0 when no process runs
	// StandbyPID is the instance's warm standby waiting to take over its next
	// start (reload.standby), 0 when it has none.
	StandbyPID int           `json:"standby_pid"`
	State      string        `json:"state"`
	Since      time.Time     `json:"since"`    // time of the last state change
	Uptime     time.Duration `json:"-"`        // 0 when no process runs
	Restarts   int           `json:"restarts"` // restarts after exits devcluster did not ask for (crashes)
	// Reloads counts the restarts devcluster asked for: a reload on a file change,
	// `devcluster restart`, a start after `devcluster stop`. Apart from Restarts so
	// that a busy edit session does not look like a crashing app.
	Reloads  int    `json:"reloads"`
	Requests uint64 `json:"requests"`  // requests served through the proxy
	LastExit string `json:"last_exit"` // "exit status 1", "signal: killed", "" if none yet
	// LastExitPlanned is true when LastExit followed a stop devcluster asked for
	// (reload, restart, stop, scale down): its "signal: terminated" is no crash.
	LastExitPlanned bool `json:"last_exit_planned"`
	Generation      int  `json:"generation"`
	// Paused is true while the process is SIGSTOPped (devcluster fault pause):
	// State stays what it was, since the process still holds its port, and ps
	// shows "paused" instead.
	Paused bool `json:"paused"`
	// Balancer is what the proxy thinks of the instance, which may differ from
	// State: a process can be "ready" while its health checks fail. nil (null
	// in JSON) when the proxy does not balance the instance's process.
	Balancer *Balancer `json:"balancer"`
}

// Balancer states, as the proxy reports them.
const (
	BalancerUp       = "up"       // in rotation
	BalancerDown     = "down"     // out of rotation: its checks (or a request) failed
	BalancerDraining = "draining" // no new requests; those in flight finish
	BalancerDrained  = "drained"  // out of rotation, nothing in flight
	BalancerMaint    = "maint"    // taken out of rotation on purpose
	// BalancerDrain is HAProxy's drain (devcluster fault drain): checked and
	// up, but only its sticky clients are sent to it.
	BalancerDrain = "drain"
)

// Balancer is the proxy's view of one instance in `devcluster ps`.
//
// In JSON, LastCheckDuration is "last_check_seconds" (a number), as
// Instance.Uptime is "uptime_seconds".
type Balancer struct {
	State             string        `json:"state"` // one of the Balancer* constants
	Since             time.Time     `json:"since"` // time of the last state change
	Active            int64         `json:"active"`
	LastCheck         time.Time     `json:"last_check,omitzero"` // zero before the first check
	LastCheckOK       bool          `json:"last_check_ok"`
	LastCheckResult   string        `json:"last_check_result,omitempty"` // "HTTP 200", "connect: connection refused"
	LastCheckDuration time.Duration `json:"-"`
	LastError         string        `json:"last_error,omitempty"` // the last failure, of a check or a request
}

// InRotation reports whether the proxy sends new requests to the instance.
func (b *Balancer) InRotation() bool { return b != nil && b.State == BalancerUp }

type balancerFields Balancer

// MarshalJSON adds "last_check_seconds" and "in_rotation".
func (b Balancer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		balancerFields
		InRotation       bool    `json:"in_rotation"`
		LastCheckSeconds float64 `json:"last_check_seconds"`
	}{balancerFields(b), b.InRotation(), b.LastCheckDuration.Seconds()})
}

// UnmarshalJSON reads "last_check_seconds" back into LastCheckDuration.
func (b *Balancer) UnmarshalJSON(data []byte) error {
	v := struct {
		*balancerFields
		LastCheckSeconds float64 `json:"last_check_seconds"`
	}{balancerFields: (*balancerFields)(b)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	b.LastCheckDuration = time.Duration(math.Round(v.LastCheckSeconds * float64(time.Second)))
	return nil
}

// instanceFields has Instance's fields without its methods, so that the JSON
// methods below can embed it without recursing.
type instanceFields Instance

// MarshalJSON adds "uptime_seconds".
func (i Instance) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		instanceFields
		UptimeSeconds float64 `json:"uptime_seconds"`
	}{instanceFields(i), i.Uptime.Seconds()})
}

// UnmarshalJSON reads "uptime_seconds" back into Uptime.
func (i *Instance) UnmarshalJSON(b []byte) error {
	v := struct {
		*instanceFields
		UptimeSeconds float64 `json:"uptime_seconds"`
	}{instanceFields: (*instanceFields)(i)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	i.Uptime = time.Duration(math.Round(v.UptimeSeconds * float64(time.Second)))
	return nil
}

// LogLine is one line of an instance's output; a line of the NDJSON stream of
// GET /v1/logs.
type LogLine struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Error is an error that carries the HTTP status the server answers with. The
// client returns an *Error for every error answer, with Msg exactly as the
// server's Cluster worded it.
type Error struct {
	Code int    // HTTP status: 400 bad request, 404 unknown target, 409 conflict, 500 ...
	Msg  string // shown to the user as is
	err  error  // the cause, server side only
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the error given to WithCode, if any.
func (e *Error) Unwrap() error { return e.err }

// Errorf returns an *Error with the given HTTP status code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// WithCode gives err an HTTP status without changing its message; nil stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Msg: err.Error(), err: err}
}

// statusCode is the HTTP status the server answers err with.
func statusCode(err error) int {
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code >= 400 && e.Code <= 599:
		return e.Code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrNotRunning matches (with errors.Is) the error of Dial, and of any Client
// method, when no cluster answers on the socket.
var ErrNotRunning = errors.New("no devcluster is running")

// NotRunningError says that no cluster answers in Dir, and why.
type NotRunningError struct {
	Dir    string // project directory
	Reason string // "no .devcluster/control.sock", "stale .devcluster/control.sock: connection refused"
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("no devcluster is running in %s (%s); start one with \"devcluster up\"", e.Dir, e.Reason)
}

// Is makes errors.Is(err, ErrNotRunning) true.
func (e *NotRunningError) Is(target error) bool { return target == ErrNotRunning }

// ErrAlreadyRunning matches (with errors.Is) Listen's error when another
// cluster serves the project.
var ErrAlreadyRunning = errors.New("a cluster is already running")

// AlreadyRunningError is Listen's refusal to start a second cluster in Dir.
type AlreadyRunningError struct {
	Dir   string
	PID   int    // 0 if unknown
	Proxy string // "" if unknown
}

func (e *AlreadyRunningError) Error() string {
	var detail string
	switch {
	case e.PID != 0 && e.Proxy != "":
		detail = fmt.Sprintf(" (pid %d, proxy on %s)", e.PID, e.Proxy)
	case e.PID != 0:
		detail = fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("a cluster is already running in %s%s; stop it with \"devcluster down\" or use it", e.Dir, detail)
}

// Is makes errors.Is(err, ErrAlreadyRunning) true.
func (e *AlreadyRunningError) Is(target error) bool { return target == ErrAlreadyRunning }
