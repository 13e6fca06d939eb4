package supervisor

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/signals"
)

// stopChild runs the stop contract: drain (when asked and in rotation), the stop
// signal to the whole group, StopTimeout, SIGKILL to the group, reap. Kill cuts
// every wait short.
func (in *instance) stopChild(ctx context.Context, drain bool, why error) {
	in.stop(ctx, drain, false, why)
}

// stopForRestart is stopChild for a restart: drained, it returns once the child
// has let go of its port, and the rest of its stop goes on in the background
// (see linger).
func (in *instance) stopForRestart(ctx context.Context, why error) {
	in.stop(ctx, true, true, why)
}

func (in *instance) stop(ctx context.Context, drain, early bool, why error) {
	c := in.child
	if c == nil {
		return
	}
	// A child that has already exited on its own (its exit not yet handled) was
	// not stopped by devcluster: its exit stays a crash in LastExit.
	planned := true
	select {
	case <-c.exited:
		planned = false
	default:
	}
	// A stopped process would take the stop signal only once continued, and its
	// in-flight requests would never end the drain.
	in.resume("so that it can stop")
	drained := false
	if drain && in.enabled {
		in.apply(event{kind: evDraining})
		in.commit() // the drain may take DrainTimeout: ps shows it
		dctx, cancel := context.WithTimeout(ctx, in.s.cfg.DrainTimeout)
		stop := context.AfterFunc(in.s.killCtx, cancel)
		err := in.s.cfg.Balancer.Drain(dctx, in.spec.ID)
		if err != nil && ctx.Err() == nil && in.s.killCtx.Err() == nil {
			in.s.out.logf("%s: drain: %v; stopping anyway", in.spec.ID, err)
		}
		drained = err == nil
		stop()
		cancel()
	}
	in.apply(event{kind: evStopping})
	in.commit() // and the stop StopTimeout
	sig := in.spec.StopSignal
	if in.s.killCtx.Err() != nil {
		sig = syscall.SIGKILL
	}
	// Whether the child may linger once it lets go of its port (see linger):
	// it must hold it now.
	early = early && drained && planned && sig != syscall.SIGKILL && in.spec.Port > 0 && !portFree(in.spec.Port)
	if err := signalGroup(c.pid, sig); err != nil {
		in.s.out.logf("stop %s: signal process group %d: %v", in.spec.ID, c.pid, err)
	}
	// Descendants that left the group (setsid) get the stop signal too, and are
	// SIGKILLed with the group once the leader has gone (see killDetached).
	detached := in.s.detached(in.spec.ID, c.pid)
	children.adopt(detached) // they may exit on sig before any periodic look
	signalProcs(detached, sig)
	timer := time.NewTimer(in.spec.StopTimeout)
	var released <-chan struct{}
	if early {
		stopWatch := make(chan struct{})
		defer close(stopWatch)
		released = in.s.portReleased(in.spec.Port, c, stopWatch)
	}
	select {
	case <-released:
		select {
		case <-c.exited: // gone meanwhile: an ordinary stop
		default:
			in.forget(c, why, true, planned)
			in.linger(c, timer)
			in.commit()
			return
		}
	case <-c.exited:
	case <-timer.C:
		in.s.out.logf("%s did not stop within %s after %s; sending SIGKILL to its process group",
			in.spec.ID, in.spec.StopTimeout, signals.Name(in.spec.StopSignal))
		_ = signalGroup(c.pid, syscall.SIGKILL)
		<-c.exited
	case <-in.s.killCtx.Done():
		_ = signalGroup(c.pid, syscall.SIGKILL)
		<-c.exited
	}
	timer.Stop()
	in.forget(c, why, true, planned)
	in.commit() // no process any more, whatever follows (waitPortFree may take a while)
}

// halt stops the instance for good: Run is returning.
func (in *instance) halt(ctx context.Context) {
	in.retry.stop()
	in.dropStandby()
	in.stopChild(ctx, false, errors.New("devcluster is shutting down"))
	in.answer(errors.New("devcluster is shutting down"))
	in.apply(event{kind: evStopped})
}

// waitPortFree polls until the instance's port can be bound again: a stopped
// server's socket, or a grandchild that escaped the group, may hold it a moment.
func (in *instance) waitPortFree(ctx context.Context) {
	if in.spec.Port <= 0 {
		return
	}
	deadline := time.NewTimer(in.s.cfg.PortFreeTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for !portFree(in.spec.Port) {
		select {
		case <-ctx.Done():
			return
		case <-in.s.killCtx.Done():
			return
		case <-deadline.C:
			return // start fails, naming the holder
		case <-tick.C:
		}
	}
}
