// Package supervisor runs the instances of a devcluster: one OS process group per
// instance, restarted on crash with backoff, joined to a load balancer only once
// ready, rolled on reload (a canary, then waves of MaxUnavailable), stopped with
// the group-wide SIGTERM → wait → SIGKILL contract, and open to process faults
// (KillInstance, PauseInstance) for testing failure handling.
//
// Each instance's state has exactly one owner: the goroutine started for it by Run.
// Every other caller (Reload, StopInstance, Scale, ...) sends that goroutine a
// command on a channel and waits for its reply; Status reads a snapshot the owner
// publishes. Children are forked from one goroutine locked to its OS thread, because
// Linux's Pdeathsig fires when the forking *thread* exits, not the process.
//
// Nothing an instance starts outlives it. Run makes devcluster a child subreaper,
// so a descendant that double-forks and calls setsid re-parents to devcluster
// rather than init; every child carries DEVCLUSTER_RUN=RUN-ID/web.2, which its
// descendants inherit, and a stop signals every process with that marker besides
// the process group. With Config.RunDir set, the pids are recorded so that
// StopLeftovers can stop what a SIGKILLed devcluster left behind.
//
// The package imports nothing else from devcluster: cmd/devcluster converts the
// manifest into InstanceSpecs and plugs the proxy in as the Balancer.
package supervisor

import (
	"context"
	"io"
	"regexp"
	"syscall"
	"time"
)

// InstanceSpec is everything needed to run one instance ("web.2").
type InstanceSpec struct {
	ID      string // "web.2"
	Process string // "web"
	Index   int    // 2
	Port    int    // 0 = none; otherwise passed as PORT and probed for readiness
	Command string // run as sh -c COMMAND
	Dir     string
	// Env is the full environment, already merged by cmd (os env + .env + manifest
	// env). The supervisor adds PORT, PS, DEVCLUSTER_PROCESS, DEVCLUSTER_INSTANCE,
	// PYTHONUNBUFFERED and DEVCLUSTER_RUN (RUN-ID/web.2: how a stop finds the
	// instance's detached descendants), and removes WERKZEUG_RUN_MAIN, WERKZEUG_SERVER_FD and
	// RUN_MAIN, which belong to Flask's and Django's own reloaders.
	Env         []string
	Restart     string         // one of defaults.RestartPolicies; "" → defaults.Restart
	StopSignal  syscall.Signal // 0 → defaults.StopSignal (SIGTERM)
	StopTimeout time.Duration  // 0 → defaults.StopTimeout
	HealthPath  string         // readiness also requires GET path → 2xx/3xx
	Balanced    bool           // only balanced instances are given to the Balancer
	// MaxUnavailable is how many of the process's instances a reload restarts at
	// once after the canary (a wave); 0 → 1, one at a time. cmd fills it from the
	// manifest's reload.max_unavailable, already resolved against the number of
	// instances. Raising it makes a reload of many instances take about as long
	// as one instance's restart times the number of waves instead of the number
	// of instances; the price is capacity: the instances of a wave are out of
	// rotation together. A wave never takes every serving instance out (see
	// Reload). The process's first instance's value is the one used.
	MaxUnavailable int
	// MaxUnavailableFor, when set, is used instead of MaxUnavailable with the
	// number of instances the process has when a roll sizes its next wave, so
	// that a percentage follows Scale (50% of 2 is 1, of 6 is 3). cmd sets it
	// from reload.max_unavailable; the first pending instance's is used.
	MaxUnavailableFor func(instances int) int
	// Standby keeps a warm standby for the instance (see standby.go): an
	// interpreter that has imported the app's libraries and waits, so that the
	// next start (a reload, a restart, a crash) skips Python's start and Flask's
	// import. It applies only to a command StandbyProblem accepts (a Python
	// interpreter with a script or -m module, or a Python console script); for any other,
	// Run logs why once and the instance's starts stay cold.
	Standby bool

	// DependsOn names the processes whose initial instances must all have been
	// ready once before this instance's first start (manifest depends_on:);
	// until then it is StateWaiting. A name no spec has is no wait. cmd checks
	// the names and that they form no cycle (procfile does).
	DependsOn []string
	// The readiness rule of an instance the proxy does not balance (manifest
	// ready:), at most one set: ready once 127.0.0.1:ReadyTCP accepts a
	// connection, once sh -c ReadyCommand exits 0 (run in Dir with the
	// instance's environment, again every defaults.ReadyCommandInterval until
	// it does), or once a line of its output matches the regexp ReadyLog.
	// Without a rule, a port or a health path, nothing says the instance is
	// ready: it is StateRunning once started.
	ReadyTCP     int
	ReadyCommand string
	ReadyLog     string
	readyLog     *regexp.Regexp // ReadyLog compiled by normalize
}

// Balancer is what the supervisor needs from the proxy; proxy.Proxy satisfies it.
type Balancer interface {
	Enable(process, id, addr string)
	Drain(ctx context.Context, id string) error // stop sending new requests, wait in-flight
	Remove(id string)
}

// Config configures a Supervisor. Only Specs is required.
type Config struct {
	Specs    []InstanceSpec
	Balancer Balancer  // may be nil
	Output   io.Writer // children's prefixed lines (stdout); nil → discarded
	Log      io.Writer // devcluster's own messages ("devcluster | ..."); nil → discarded
	Color    bool      // colour the prefixes; when false no escape code is written
	PTY      bool      // run each child under a pseudo-terminal

	StartTimeout time.Duration                    // not ready in time → failed start (default 30s)
	Backoff      func(failures int) time.Duration // nil → exponential 0.5s..10s with jitter
	Now          func() time.Time                 // nil → time.Now
	LogLines     int                              // ring buffer per instance (default 1000)
	// SpecFor builds the spec of a new instance when scaling up.
	SpecFor func(process string, index int) (InstanceSpec, error)

	// RunDir, when set, is where Run records each instance's pid and process group
	// (RUNDIR/pids/, removed as the processes go), so that StopLeftovers in the next
	// `up` can stop what a SIGKILLed devcluster left running. cmd passes
	// .devcluster/; "" records nothing.
	RunDir string

	// HideLine, when set, is asked about every line of every child's output; the
	// lines it matches are neither printed nor kept for Logs. cmd uses it to hide
	// the request lines the proxy's own health checks cause in a development
	// server's access log, which would otherwise bury the user's lines.
	HideLine func(line []byte) bool

	// DrainTimeout bounds Balancer.Drain during a stop or a roll (default 5s).
	DrainTimeout time.Duration
	// PortFreeTimeout bounds the wait for a stopped instance's port to be free
	// again before its successor starts (default 3s).
	PortFreeTimeout time.Duration
	// StandbyWarmTimeout bounds a warm standby's import of the app's libraries
	// (see InstanceSpec.Standby): one not warm by then is stopped (default 30s).
	StandbyWarmTimeout time.Duration
}

// Instance states, as shown by Status and `devcluster ps`. StateNames lists them;
// control keeps its own copy of the names and cmd's drift test compares the two.
const (
	StateWaiting      = "waiting" // for the processes of DependsOn before its first start
	StateStarting     = "starting"
	StateRunning      = "running" // started, and no readiness rule says more (see InstanceSpec.ReadyTCP)
	StateReady        = "ready"
	StateDraining     = "draining"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateDown         = "down"
	StateCrashLooping = "crash-looping"
)

// StateNames returns every instance state, in the order of the constants above. It
// is a function so that no caller can change a shared slice.
func StateNames() []string {
	return []string{StateWaiting, StateStarting, StateRunning, StateReady, StateDraining, StateStopping, StateStopped, StateDown, StateCrashLooping}
}

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	ID, Process string
	Index, Port int
	PID         int // 0 when no process runs
	StandbyPID  int // the warm standby's, 0 when there is none (see InstanceSpec.Standby)
	State       string
	Since       time.Time // when State was entered
	// Restarts counts the starts after exits devcluster did not ask for: crashes,
	// a KillInstance, a failed start retried with backoff.
	Restarts int
	// Reloads counts the starts devcluster was asked for: a reload on a file
	// change, Restart, a StartInstance after a stop. Apart from Restarts so that a
	// busy edit session does not look like a crashing app.
	Reloads  int
	LastExit string // "exit status 1", "signal: killed", "" before the first exit
	// LastExitPlanned is true when LastExit followed a stop devcluster made (a
	// reload, a restart, StopInstance, scale down, shutdown): its "signal:
	// terminated" is no crash.
	LastExitPlanned bool
	Generation      int // bumped by every Reload/Restart of the instance's process
	// Paused is true between PauseInstance and ResumeInstance (or the stop,
	// restart or kill that ends the pause); PausedSince is when it began. State
	// stays what it was: the process still runs and holds its port, it just
	// answers nothing, which the balancer's checks are left to notice.
	Paused      bool
	PausedSince time.Time
}

// LogLine is one line of a child's output.
type LogLine struct {
	ID   string
	Time time.Time
	Text string
}
