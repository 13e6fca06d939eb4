package supervisor

import "time"

// eventKind names what happened to an instance, as its goroutine tells its
// lifecycle (see lifecycle.apply).
type eventKind int

const (
	evSpawned     eventKind = iota // a child runs: pid; planned says devcluster asked for the start
	evSpawnFailed                  // a start found no child (a missing Dir, the port taken): planned as above
	evReady                        // the child passed its readiness check
	evExited                       // the child exited on its own and was reaped: exit
	evRetry                        // a restart is scheduled after failures failures in a row
	evGaveUp                       // no restart will come (restart policy, a fatal first start)
	evDraining                     // the balancer drains it before a stop
	evStopping                     // the stop signal is sent
	evReaped                       // a child devcluster stopped is reaped: exit, planned
	evStopped                      // it stays stopped: StopInstance, a removal, shutdown
	evPaused                       // SIGSTOPped (PauseInstance)
	evResumed                      // SIGCONTed
	evStandbyWarm                  // the warm standby, pid, has imported its libraries
	evStandbyGone                  // the standby was taken, exited or dropped
	evGeneration                   // a roll moved it to generation gen
	evWaiting                      // its first start waits for the processes it depends on
	evOldExit                      // a child that lingered after its stop is reaped: exit (see linger)
)

// event is one thing that happened to an instance. Only the fields its kind
// names are set.
type event struct {
	kind     eventKind
	pid      int
	planned  bool
	exit     string
	failures int
	gen      int
	running  bool // evReady: the instance has no readiness rule, so it is only running
}

// lifecycle is everything an instance's InstanceStatus is derived from. Its
// goroutine owns it and changes it only through apply, the one place that
// decides the next state; status derives the snapshot, which the goroutine
// commits once per pass of its loop (see instance.commit). apply keeps the
// invariants consistent whatever order events come in: a state that needs a
// process (starting, running, ready, draining) never stands without a pid, one
// that has none (waiting, down, stopped) never with one, and a paused instance has a process.
type lifecycle struct {
	state       string
	since       time.Time
	pid         int
	standbyPID  int
	paused      bool
	pausedSince time.Time
	attempts    int // starts tried, the first included
	restarts    int
	reloads     int
	lastExit    string
	planned     bool // lastExit followed a stop devcluster made
	gen         int
}

func newLifecycle(now time.Time, gen int) lifecycle {
	return lifecycle{state: StateStopped, since: now, gen: gen}
}

// apply changes l by ev, which happened at now.
func (l *lifecycle) apply(ev event, now time.Time) {
	switch ev.kind {
	case evSpawned, evSpawnFailed:
		if ev.pid == 0 {
			ev.kind = evSpawnFailed // no process after all
		}
		// Every start after the first counts: a planned one as a reload, any
		// other (after a crash, a failed start) as a restart.
		if l.attempts > 0 {
			if ev.planned {
				l.reloads++
			} else {
				l.restarts++
			}
		}
		l.attempts++
		if ev.kind == evSpawnFailed {
			return // evRetry or evGaveUp says what follows
		}
		l.pid, l.paused, l.pausedSince = ev.pid, false, time.Time{}
		if l.standbyPID == l.pid {
			l.standbyPID = 0 // the standby took the start
		}
		// A crash-looping instance stays so until its child is ready.
		if l.state != StateCrashLooping || ev.failures < crashLoopAfter {
			l.enter(StateStarting, now)
		}
	case evReady:
		if l.pid != 0 && ev.running {
			l.enter(StateRunning, now)
		} else if l.pid != 0 {
			l.enter(StateReady, now)
		}
	case evWaiting:
		if l.pid == 0 {
			l.enter(StateWaiting, now)
		}
	case evExited, evReaped:
		l.pid, l.paused, l.pausedSince = 0, false, time.Time{}
		l.lastExit, l.planned = ev.exit, ev.kind == evReaped && ev.planned
		if ev.kind == evExited {
			l.enter(StateDown, now)
		} else if l.state != StateStopped {
			// Until the stop's caller says what comes next (stopped, or a new
			// start): no process, so neither ready nor starting any more.
			l.enter(StateStopping, now)
		}
	case evRetry:
		if l.pid == 0 {
			if ev.failures >= crashLoopAfter {
				l.enter(StateCrashLooping, now)
			} else {
				l.enter(StateDown, now)
			}
		}
	case evGaveUp:
		if l.pid == 0 {
			l.enter(StateDown, now)
		}
	case evDraining:
		if l.pid != 0 {
			l.enter(StateDraining, now)
		}
	case evStopping:
		l.enter(StateStopping, now)
	case evStopped:
		if l.pid == 0 {
			l.enter(StateStopped, now)
		}
	case evPaused:
		if l.pid != 0 && !l.paused {
			l.paused, l.pausedSince = true, now
		}
	case evResumed:
		l.paused, l.pausedSince = false, time.Time{}
	case evStandbyWarm:
		if ev.pid != l.pid {
			l.standbyPID = ev.pid
		}
	case evStandbyGone:
		l.standbyPID = 0
	case evGeneration:
		l.gen = ev.gen
	case evOldExit:
		l.lastExit, l.planned = ev.exit, ev.planned
	}
}

func (l *lifecycle) enter(state string, now time.Time) {
	if l.state != state {
		l.state, l.since = state, now
	}
}

// status is the snapshot of l for an instance of sp.
func (l *lifecycle) status(sp InstanceSpec) InstanceStatus {
	return InstanceStatus{
		ID: sp.ID, Process: sp.Process, Index: sp.Index, Port: sp.Port,
		PID: l.pid, StandbyPID: l.standbyPID,
		State: l.state, Since: l.since,
		Restarts: l.restarts, Reloads: l.reloads,
		LastExit: l.lastExit, LastExitPlanned: l.planned,
		Generation: l.gen,
		Paused:     l.paused, PausedSince: l.pausedSince,
	}
}

// inconsistency says what is wrong with st, or "" when nothing is: the rules
// lifecycle keeps, which the tests check every published status against.
func (st InstanceStatus) inconsistency() string {
	switch {
	case st.PID == 0 && (st.State == StateStarting || st.State == StateRunning || st.State == StateReady || st.State == StateDraining):
		return st.State + " without a pid"
	case st.PID != 0 && (st.State == StateWaiting || st.State == StateDown || st.State == StateStopped):
		return st.State + " with a pid"
	case st.Paused && st.PID == 0:
		return "paused without a pid"
	case st.Paused != !st.PausedSince.IsZero():
		return "paused and PausedSince disagree"
	case st.StandbyPID != 0 && st.StandbyPID == st.PID:
		return "the standby's pid is the instance's"
	}
	return ""
}

// timer is a time.Timer for an instance's loop: C is nil while it is not
// armed, so the loop's case for it never fires after stop or once it fired
// (the loop calls stop then).
type timer struct {
	t *time.Timer
	C <-chan time.Time
}

// arm makes the timer fire after d, replacing any earlier arming.
func (t *timer) arm(d time.Duration) {
	t.stop()
	t.t = time.NewTimer(d)
	t.C = t.t.C
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.t, t.C = nil, nil
}
