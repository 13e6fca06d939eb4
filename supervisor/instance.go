package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

type cmdKind int

const (
	cmdStop    cmdKind = iota // drain, stop, stay stopped
	cmdStart                  // start if not running; reply when ready
	cmdRestart                // drain, stop, port free, start new generation; reply when ready
	cmdRemove                 // drain, stop, then the goroutine returns
	cmdKill                   // SIGKILL the group: a crash, restarted per policy
	cmdPause                  // SIGSTOP the group and the marked processes
	cmdResume                 // SIGCONT what cmdPause stopped
	cmdSetEnv                 // the environment of the next starts (see SetEnv)
)

// command is a request to an instance's goroutine. reply (buffered) gets nil once
// the command is done — for start and restart, once the instance is ready — or an
// error saying why it failed.
type command struct {
	kind  cmdKind
	gen   int
	env   []string // cmdSetEnv
	reply chan error
}

// instance is one "web.2". Everything below the mutex-guarded status is owned by
// the goroutine running run; others talk to it through cmds.
type instance struct {
	s       *Supervisor
	spec    InstanceSpec
	initial bool // started by Run itself: a failed first start stops the cluster
	cmds    chan command
	done    chan struct{} // closed when run returns

	mu     sync.Mutex
	status InstanceStatus // snapshot published for Status

	child    *child
	isReady  bool
	enabled  bool // in the Balancer's rotation
	paused   bool // SIGSTOPped by PauseInstance (see pause)
	readyAt  time.Time
	wanted   bool // false after StopInstance: no automatic restart
	failures int  // exits in a row without a healthy run
	// lastFailure is what the child that failed last printed, for the next
	// child's repeatFilter; nil once a child was ready or a series ended.
	lastFailure []string
	starts      int
	gen         int
	everReady   bool
	state       string
	retryC      <-chan time.Time
	retry       *time.Timer
	deadline    *time.Timer
	deadlineC   <-chan time.Time
	hold        *time.Timer // ends the repeatFilter's holding (see repeatHold)
	holdC       <-chan time.Time
	waiters     []chan error
	// env, once SetEnv gave one, replaces spec.Env for the next starts.
	env []string

	// The warm standby (see standby.go): its child, devcluster's end of its
	// socket, the timer that starts the next one, and how many in a row exited
	// before their go; standbyOff once the instance gave up on them.
	standby      *child
	standbyGo    *os.File
	standbyWarm  <-chan struct{} // closed once it has imported its libraries; nil after
	standbyT     *time.Timer
	standbyC     <-chan time.Time
	standbyFails int
	standbyOff   bool
	warmSlot     bool        // holds a place in Supervisor.warming
	standbyLate  *time.Timer // fires when the standby is not warm in time
	standbyLateC <-chan time.Time
}

func newInstance(s *Supervisor, sp InstanceSpec, initial bool, gen int) *instance {
	in := &instance{
		s: s, spec: sp, initial: initial, wanted: true, gen: gen,
		standbyOff: sp.Standby && StandbyProblem(sp) != "",
		cmds:       make(chan command),
		done:       make(chan struct{}),
	}
	in.status = InstanceStatus{
		ID: sp.ID, Process: sp.Process, Index: sp.Index, Port: sp.Port,
		State: StateStopped, Since: s.now(), Generation: gen,
	}
	return in
}

func (in *instance) snapshot() InstanceStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

func (in *instance) publish(f func(st *InstanceStatus)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f(&in.status)
}

func (in *instance) setState(state string) {
	if in.state == state {
		return
	}
	in.state = state
	now := in.s.now()
	in.publish(func(st *InstanceStatus) { st.State, st.Since = state, now })
}

// serving reports whether the instance answers requests now, as far as the
// supervisor knows: ready and not paused.
func (in *instance) serving() bool {
	st := in.snapshot()
	return st.State == StateReady && !st.Paused
}

func (in *instance) balanced() bool {
	return in.spec.Balanced && in.spec.Port > 0 && in.s.cfg.Balancer != nil
}

// hasReadiness reports whether being ready means more than running: a port that
// accepts connections or a health path that answers (see probe).
func (in *instance) hasReadiness() bool {
	return in.spec.Port > 0 && (in.spec.Balanced || in.spec.HealthPath != "")
}

func (in *instance) addr() string { return fmt.Sprintf("127.0.0.1:%d", in.spec.Port) }

// send hands c to the instance's goroutine and waits for its reply, ctx's end, or
// the goroutine's end.
func (in *instance) send(ctx context.Context, c command) error {
	c.reply = make(chan error, 1)
	select {
	case in.cmds <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-in.done:
		return fmt.Errorf("%s: no longer running", in.spec.ID)
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-in.done:
		select {
		case err := <-c.reply:
			return err
		default:
			return fmt.Errorf("%s: no longer running", in.spec.ID)
		}
	}
}

// run is the instance's state machine. It returns after the child is reaped,
// when ctx ends, Kill is called, or the instance is removed.
func (in *instance) run(ctx context.Context) {
	defer close(in.done)
	defer in.stopTimers()
	defer in.dropStandby()
	if in.wanted {
		in.start(false)
	}
	for {
		var exited, ready, standbyExited <-chan struct{}
		if in.child != nil {
			exited = in.child.exited
			if !in.isReady {
				ready = in.child.ready
			}
		}
		if in.standby != nil {
			standbyExited = in.standby.exited
		}
		select {
		case <-ctx.Done():
			in.halt(ctx)
			return
		case <-in.s.killCtx.Done():
			in.halt(ctx)
			return
		case c := <-in.cmds:
			if in.handle(ctx, c) {
				return
			}
		case <-exited:
			in.onExit()
		case <-ready:
			in.onReady()
		case <-in.retryC:
			in.retryC = nil
			in.start(false)
		case <-in.deadlineC:
			in.deadlineC = nil
			in.onStartTimeout()
		case <-standbyExited:
			in.standbyExited()
		case <-in.standbyWarm:
			in.standbyIsWarm()
		case <-in.standbyLateC:
			in.standbyLateC = nil
			in.standbyTooSlow()
		case <-in.standbyC:
			in.standbyC = nil
			in.startStandby()
		case <-in.holdC:
			in.holdC = nil
			if in.child != nil {
				in.child.filter.release()
			}
		}
	}
}

// handle runs one command; it reports whether the goroutine must return.
func (in *instance) handle(ctx context.Context, c command) bool {
	switch c.kind {
	case cmdStop, cmdRemove:
		in.wanted = false
		in.cancelRetry()
		in.dropStandby()
		in.stopChild(ctx, true, errors.New(in.spec.ID+" was stopped"))
		in.setState(StateStopped)
		c.reply <- nil
		return c.kind == cmdRemove
	case cmdStart:
		in.wanted = true
		if in.child == nil {
			in.failures, in.lastFailure = 0, nil
			in.cancelRetry()
			if err := in.start(true); err != nil {
				c.reply <- err
				return false
			}
		}
		in.await(c.reply)
	case cmdRestart:
		in.wanted = true
		in.failures, in.lastFailure = 0, nil
		in.cancelRetry()
		in.stopChild(ctx, true, errors.New(in.spec.ID+" was restarted again"))
		in.waitPortFree(ctx)
		in.gen = c.gen
		in.publish(func(st *InstanceStatus) { st.Generation = c.gen })
		if ctx.Err() != nil || in.s.killCtx.Err() != nil {
			c.reply <- errors.New("devcluster is shutting down")
			return false
		}
		if err := in.start(true); err != nil {
			c.reply <- err
			return false
		}
		in.await(c.reply)
	case cmdKill, cmdPause, cmdResume:
		c.reply <- in.fault(c.kind)
	case cmdSetEnv:
		in.setEnv(c.env)
		c.reply <- nil
	}
	return false
}

// await replies at once if the instance is ready, else when it becomes ready or fails.
func (in *instance) await(reply chan error) {
	if in.isReady {
		reply <- nil
		return
	}
	in.waiters = append(in.waiters, reply)
}

func (in *instance) answer(err error) {
	for _, w := range in.waiters {
		w <- err
	}
	in.waiters = nil
}

// start spawns the child. A spawn error (a missing Dir, say) counts as a failed
// start: fatal at the initial start, retried with backoff afterwards. planned
// says devcluster was asked for this start (reload, restart, StartInstance): it
// counts as a reload, not as a restart after a crash.
func (in *instance) start(planned bool) error {
	if in.child != nil {
		return nil
	}
	if in.starts > 0 {
		in.publish(func(st *InstanceStatus) {
			if planned {
				st.Reloads++
			} else {
				st.Restarts++
			}
		})
	}
	in.starts++
	if in.failures < crashLoopAfter {
		in.setState(StateStarting)
	}
	c, err := in.spawn()
	if err != nil {
		in.answer(err)
		if in.initial && !in.everReady {
			in.setState(StateDown)
			in.s.fail(err)
			return err
		}
		in.s.out.logf("%s", err)
		in.scheduleRetry(err.Error(), false, false)
		return err
	}
	in.child = c
	in.s.recordInstance(in.spec.ID, c, in.spec.Command)
	in.isReady = false
	// A new child has not been ready yet: keeping the previous child's time made
	// every crash of a broken save look like the first after a healthy run.
	in.readyAt = time.Time{}
	in.publish(func(st *InstanceStatus) { st.PID = c.pid })
	in.deadline = time.NewTimer(in.s.cfg.StartTimeout)
	in.deadlineC = in.deadline.C
	if len(in.lastFailure) > 0 {
		in.hold = time.NewTimer(repeatHold)
		in.holdC = in.hold.C
	}
	return nil
}

// spawn starts a child, unless the instance's port is taken: a leftover holding
// it would answer the readiness probe while the new child fails to bind, and a
// restart would report success for a crash-looping instance.
func (in *instance) spawn() (*child, error) {
	if in.spec.Port > 0 && !portFreeSoon(in.spec.Port) {
		return nil, busyPortError(in.spec.ID, in.spec.Port)
	}
	if c := in.takeStandby(); c != nil {
		return c, nil
	}
	c, err := in.s.spawn(in.runSpec(), in.lastFailure)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", in.spec.ID, err)
	}
	return c, nil
}

func (in *instance) onReady() {
	c := in.child
	in.isReady = true
	in.readyAt = in.s.now()
	if in.hasReadiness() {
		// Ready proves the failure fixed. An instance without a readiness
		// check is "ready" as soon as it runs, which proves nothing: its held
		// lines wait for the crash, other output, or repeatHold.
		in.lastFailure = nil
		c.filter.release()
	}
	in.stopDeadline()
	// Enable before publishing "ready": whoever sees ready in Status (devcluster ps,
	// a script waiting for it) can rely on the instance being in rotation.
	if in.balanced() {
		in.s.cfg.Balancer.Enable(in.spec.Process, in.spec.ID, in.addr())
		in.enabled = true
	}
	in.setState(StateReady)
	took := in.readyAt.Sub(c.started).Seconds()
	if in.hasReadiness() {
		in.s.out.logf("%s ready on %s (pid %d, %.2fs)", in.spec.ID, in.addr(), c.pid, took)
	} else {
		in.s.out.logf("%s started (pid %d)", in.spec.ID, c.pid)
	}
	in.answer(nil)
	in.armStandby(standbyDelay + time.Duration(in.spec.Index-1)*standbyStagger)
	if !in.everReady {
		in.everReady = true
		if in.initial {
			in.s.instanceReady()
		}
	}
}

func (in *instance) onStartTimeout() {
	err := fmt.Errorf("%s is not ready after %s", in.spec.ID, in.s.cfg.StartTimeout)
	what := "its process runs"
	if in.spec.Balanced && in.spec.Port > 0 {
		what = fmt.Sprintf("port %d does not accept connections", in.spec.Port)
	}
	if in.spec.HealthPath != "" {
		what = fmt.Sprintf("GET %s on port %d does not answer 2xx/3xx", in.spec.HealthPath, in.spec.Port)
	}
	in.child.filter.release()
	in.s.out.logf("%s (%s); still waiting", err, what)
	in.answer(err)
}

// forget clears the state of a child that has been reaped: out of the rotation,
// waiters failed with why. planned says devcluster stopped it (see
// InstanceStatus.LastExitPlanned).
func (in *instance) forget(c *child, why error, planned bool) {
	if in.enabled {
		in.s.cfg.Balancer.Remove(in.spec.ID)
		in.enabled = false
	}
	c.filter.release()
	in.s.removeInstanceRecord(in.spec.ID)
	in.child = nil
	in.isReady = false
	in.stopDeadline()
	in.stopHold()
	in.paused = false
	exit := c.exitString()
	in.publish(func(st *InstanceStatus) {
		st.PID, st.LastExit, st.LastExitPlanned = 0, exit, planned
		st.Paused, st.PausedSince = false, time.Time{}
	})
	in.answer(why)
}

// runSpec is the spec a start uses: spec, with the environment SetEnv gave.
func (in *instance) runSpec() InstanceSpec {
	sp := in.spec
	if in.env != nil {
		sp.Env = in.env
	}
	return sp
}

// setEnv makes env the environment of the next starts. A warm standby started
// with another one is replaced: it would run the app with the old values.
func (in *instance) setEnv(env []string) {
	if slices.Equal(env, in.runSpec().Env) {
		return
	}
	in.env = slices.Clone(env)
	if in.standby != nil {
		in.dropStandby()
		in.armStandby(standbyDelay)
	}
}
