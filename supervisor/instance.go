package supervisor

import (
	"context"
	"errors"
	"fmt"
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
	cmdReaped                 // an old child that lingered after its restart is reaped (see linger)
)

// command is a request to an instance's goroutine. reply (buffered) gets nil once
// the command is done — for start and restart, once the instance is ready — or an
// error saying why it failed.
type command struct {
	kind  cmdKind
	gen   int
	env   []string // cmdSetEnv
	old   *child   // cmdReaped
	reply chan error
}

// instance is one "web.2". Everything below the mutex-guarded status is owned by
// the goroutine running run; others talk to it through cmds and read status.
//
// The goroutine keeps what its status is derived from in life and changes it
// through life.apply only; it commits the derived InstanceStatus once per pass
// of its loop (and while the stop contract waits, see stopChild), then sends the
// replies and notices the pass produced (later), so that whoever hears back
// finds the status that goes with it.
type instance struct {
	s       *Supervisor
	spec    InstanceSpec
	initial bool // started by Run itself: a failed first start stops the cluster
	cmds    chan command
	done    chan struct{} // closed when run returns

	mu     sync.Mutex
	status InstanceStatus // the last commit, for Status

	life    lifecycle
	child   *child
	enabled bool // in the Balancer's rotation
	readyAt time.Time
	wanted  bool // false after StopInstance: no automatic restart
	// failures counts exits in a row without a healthy run.
	failures int
	// lastFailure is what the child that failed last printed, for the next
	// child's repeatFilter; nil once a child was ready or a series ended.
	lastFailure []string
	everReady   bool
	retry       timer // the next start after a failure
	deadline    timer // StartTimeout for the child starting
	hold        timer // ends the repeatFilter's holding (see repeatHold)
	waiters     []chan error
	later       []func() // run after the next commit
	// env, once SetEnv gave one, replaces spec.Env for the next starts.
	env     []string
	standby standby
	// lingering counts the old children still exiting after a restart went
	// on without them; pendingExit is the last of them, whose exit becomes
	// LastExit once reaped (see linger).
	lingering   lingering
	pendingExit *child
}

func newInstance(s *Supervisor, sp InstanceSpec, initial bool, gen int) *instance {
	in := &instance{
		s: s, spec: sp, initial: initial, wanted: true,
		life:    newLifecycle(s.now(), gen),
		standby: standby{off: sp.Standby && StandbyProblem(sp) != ""},
		cmds:    make(chan command),
		done:    make(chan struct{}),
	}
	in.status = in.life.status(sp)
	return in
}

func (in *instance) snapshot() InstanceStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

// apply records ev in the instance's lifecycle; the next commit publishes it.
func (in *instance) apply(ev event) { in.life.apply(ev, in.s.now()) }

// commit publishes the status derived from the lifecycle, then runs what waited
// for it (replies, the Ready notice).
func (in *instance) commit() {
	st := in.life.status(in.spec)
	in.mu.Lock()
	in.status = st
	in.mu.Unlock()
	if in.s.observe != nil {
		in.s.observe(st)
	}
	later := in.later
	in.later = nil
	for _, f := range later {
		f()
	}
}

// reply sends err on ch once the status that goes with it is committed.
func (in *instance) reply(ch chan error, err error) {
	in.later = append(in.later, func() { ch <- err })
}

// ready reports whether the instance's child has passed its readiness check.
// An instance without a readiness rule passes it by running (StateRunning).
func (in *instance) ready() bool {
	return in.child != nil && (in.life.state == StateReady || in.life.state == StateRunning)
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
// accepts connections, a health path that answers, or a ready: rule (see probe).
func (in *instance) hasReadiness() bool {
	return in.spec.hasReadiness()
}

func (sp InstanceSpec) hasReadiness() bool {
	return sp.Port > 0 && (sp.Balanced || sp.HealthPath != "") || sp.readyRule() != ""
}

// readyRule describes sp's ready: rule, "" when it has none.
func (sp InstanceSpec) readyRule() string {
	switch {
	case sp.ReadyLog != "":
		return fmt.Sprintf("a line of its output matches %q", sp.ReadyLog)
	case sp.ReadyCommand != "":
		return fmt.Sprintf("%q exits 0", sp.ReadyCommand)
	case sp.ReadyTCP > 0:
		return fmt.Sprintf("port %d accepts connections", sp.ReadyTCP)
	}
	return ""
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

// run is the instance's loop: one event per pass, handled, then committed. It
// returns after the child is reaped, when ctx ends, Kill is called, or the
// instance is removed.
func (in *instance) run(ctx context.Context) {
	defer close(in.done)
	defer in.commit()
	defer in.stopTimers()
	defer in.dropStandby()
	var deps <-chan struct{} // closed once the processes of DependsOn are ready
	if in.wanted {
		if deps = in.s.dependencies(ctx, in); deps != nil {
			in.apply(event{kind: evWaiting})
		} else {
			_ = in.start(false)
		}
	}
	for {
		in.commit()
		var exited, ready, standbyExited, standbyWarm <-chan struct{}
		if in.child != nil {
			exited = in.child.exited
			if !in.ready() {
				ready = in.child.ready
			}
		}
		if sb := in.standby.child; sb != nil {
			standbyExited = sb.exited
			if !in.standby.warmed {
				standbyWarm = in.standby.warm
			}
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
		case <-deps:
			deps = nil
			if in.wanted && in.child == nil {
				_ = in.start(false)
			}
		case <-in.retry.C:
			in.retry.stop()
			_ = in.start(false)
		case <-in.deadline.C:
			in.deadline.stop()
			in.onStartTimeout()
		case <-in.hold.C:
			in.hold.stop()
			if in.child != nil {
				in.child.filter.release()
			}
		case <-standbyExited:
			in.standbyExited()
		case <-standbyWarm:
			in.standbyIsWarm()
		case <-in.standby.late.C:
			in.standby.late.stop()
			in.standbyTooSlow()
		case <-in.standby.next.C:
			in.standby.next.stop()
			in.startStandby()
		}
	}
}

// handle runs one command; it reports whether the goroutine must return.
func (in *instance) handle(ctx context.Context, c command) bool {
	switch c.kind {
	case cmdStop, cmdRemove:
		in.wanted = false
		in.retry.stop()
		in.dropStandby()
		in.stopChild(ctx, true, errors.New(in.spec.ID+" was stopped"))
		in.apply(event{kind: evStopped})
		in.reply(c.reply, nil)
		return c.kind == cmdRemove
	case cmdStart:
		in.wanted = true
		if in.child == nil {
			in.failures, in.lastFailure = 0, nil
			in.retry.stop()
			if err := in.start(true); err != nil {
				in.reply(c.reply, err)
				return false
			}
		}
		in.await(c.reply)
	case cmdRestart:
		in.wanted = true
		in.failures, in.lastFailure = 0, nil
		in.retry.stop()
		in.stopForRestart(ctx, errors.New(in.spec.ID+" was restarted again"))
		in.waitPortFree(ctx)
		in.apply(event{kind: evGeneration, gen: c.gen})
		if ctx.Err() != nil || in.s.killCtx.Err() != nil {
			in.reply(c.reply, errors.New("devcluster is shutting down"))
			return false
		}
		if err := in.start(true); err != nil {
			in.reply(c.reply, err)
			return false
		}
		in.await(c.reply)
	case cmdKill, cmdPause, cmdResume:
		in.reply(c.reply, in.fault(c.kind))
	case cmdSetEnv:
		in.setEnv(c.env)
		in.reply(c.reply, nil)
	case cmdReaped:
		in.oldReaped(c.old)
		in.reply(c.reply, nil)
	}
	return false
}

// await replies at once if the instance is ready, else when it becomes ready or fails.
func (in *instance) await(reply chan error) {
	if in.ready() {
		in.reply(reply, nil)
		return
	}
	in.waiters = append(in.waiters, reply)
}

func (in *instance) answer(err error) {
	for _, w := range in.waiters {
		in.reply(w, err)
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
	c, err := in.spawn()
	if err != nil {
		in.apply(event{kind: evSpawnFailed, planned: planned})
		in.answer(err)
		if in.initial && !in.everReady {
			in.apply(event{kind: evGaveUp})
			in.s.fail(err)
			return err
		}
		in.s.out.logf("%s", err)
		in.scheduleRetry(err.Error(), false, false)
		return err
	}
	in.child = c
	in.apply(event{kind: evSpawned, pid: c.pid, planned: planned, failures: in.failures})
	in.s.recordInstance(in.spec.ID, c, in.spec.Command)
	// A new child has not been ready yet: keeping the previous child's time made
	// every crash of a broken save look like the first after a healthy run.
	in.readyAt = time.Time{}
	in.deadline.arm(in.s.cfg.StartTimeout)
	if len(in.lastFailure) > 0 {
		in.hold.arm(repeatHold)
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
	in.readyAt = in.s.now()
	if in.hasReadiness() {
		// Ready proves the failure fixed. An instance without a readiness
		// check is "ready" as soon as it runs, which proves nothing: its held
		// lines wait for the crash, other output, or repeatHold.
		in.lastFailure = nil
		c.filter.release()
	}
	in.deadline.stop()
	// Enable before committing "ready": whoever sees ready in Status (devcluster
	// ps, a script waiting for it) can rely on the instance being in rotation.
	if in.balanced() {
		in.s.cfg.Balancer.Enable(in.spec.Process, in.spec.ID, in.addr())
		in.enabled = true
	}
	in.apply(event{kind: evReady, running: !in.hasReadiness()})
	if !c.standby {
		in.standby.cold = in.readyAt.Sub(c.started)
	}
	took := in.readyAt.Sub(c.started).Seconds()
	if rule := in.spec.readyRule(); rule != "" {
		in.s.out.logf("%s ready: %s (pid %d, %.2fs)", in.spec.ID, rule, c.pid, took)
	} else if in.hasReadiness() {
		in.s.out.logf("%s ready on %s (pid %d, %.2fs)", in.spec.ID, in.addr(), c.pid, took)
	} else {
		in.s.out.logf("%s started (pid %d)", in.spec.ID, c.pid)
	}
	in.answer(nil)
	in.armStandby(standbyDelay + time.Duration(in.spec.Index-1)*standbyStagger)
	if !in.everReady {
		in.everReady = true
		if in.initial {
			process := in.spec.Process
			in.later = append(in.later, in.s.instanceReady, func() { in.s.processInstanceReady(process) })
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
	if rule := in.spec.readyRule(); rule != "" {
		what = "not yet: " + rule
	}
	in.child.filter.release()
	in.s.out.logf("%s (%s); still waiting", err, what)
	in.answer(err)
}

// forget clears the state of a child that has been reaped: out of the rotation,
// waiters failed with why. planned says devcluster stopped it (see
// InstanceStatus.LastExitPlanned); stopped that the exit was a stop's at all,
// rather than the child's own (see evExited, evReaped).
func (in *instance) forget(c *child, why error, stopped, planned bool) {
	if in.enabled {
		in.s.cfg.Balancer.Remove(in.spec.ID)
		in.enabled = false
	}
	c.filter.release()
	in.s.removeInstanceRecord(in.spec.ID)
	in.child = nil
	in.pendingExit = nil
	in.deadline.stop()
	in.hold.stop()
	kind := evExited
	if stopped {
		kind = evReaped
	}
	exit := "" // a child that lingers (see linger) has no exit yet
	select {
	case <-c.exited:
		exit = c.exitString()
	default:
	}
	in.apply(event{kind: kind, exit: exit, planned: planned})
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
	if in.standby.child != nil {
		in.dropStandby()
		in.armStandby(standbyDelay)
	}
}

func (in *instance) stopTimers() {
	in.retry.stop()
	in.deadline.stop()
	in.hold.stop()
	in.standby.next.stop()
	in.standby.late.stop()
}
