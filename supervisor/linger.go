package supervisor

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/signals"
)

// A restart's stop ends early: once the balancer has drained the instance (no
// request in flight to it), the stop signal is sent and the server has closed
// its listening socket, nothing the old process still does concerns the new
// one, whose start needs only the port. gunicorn's arbiter reaps its worker and
// sleeps in steps of 0.1 s, uvicorn runs the lifespan shutdown, and every
// Python interpreter then tears its modules down: 0.1-0.4 s per instance, which
// a roll used to add up instance by instance (most of gunicorn's and uvicorn's
// reload time next to Flask's development server, which dies at SIGTERM). So
// the old process lingers: its stop goes on in the background under the same
// contract (the stop signal already sent, SIGKILL to its group after
// StopTimeout, at once on Kill), its exit becomes LastExit when it is reaped,
// and the roll returns once every old process it stopped is gone.
//
// Only a process that held the port when it was signalled and then let go of
// it counts as released: one whose port was free all along (a server on ::1
// only, a port the supervisor cannot see) is waited for as before.

// releaseInterval is how often a stopping child's port is looked at.
const releaseInterval = 5 * time.Millisecond

// lingering counts an instance's old processes still exiting in the
// background; idle is closed when there are none left. Any goroutine uses it.
type lingering struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (l *lingering) add() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		l.idle = make(chan struct{})
	}
	l.n++
}

func (l *lingering) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.n == 0 {
		close(l.idle)
	}
}

// wait returns once no old process of the instance is exiting, or ctx ends.
func (l *lingering) wait(ctx context.Context) {
	l.mu.Lock()
	idle := l.idle
	n := l.n
	l.mu.Unlock()
	if n == 0 {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// portReleased returns a channel closed once port, which the stopping child c
// held when signalled, can be bound: c has closed its listener. The watch ends
// when c is reaped or stop is closed.
func (s *Supervisor) portReleased(port int, c *child, stop <-chan struct{}) <-chan struct{} {
	released := make(chan struct{})
	s.goroutine(func() {
		t := time.NewTicker(releaseInterval)
		defer t.Stop()
		for {
			select {
			case <-c.exited:
				return
			case <-stop:
				return
			case <-t.C:
			}
			if portFree(port) {
				close(released)
				return
			}
		}
	})
	return released
}

// linger hands the rest of c's stop to a goroutine (see the top of this file):
// timer is its StopTimeout, running since the stop signal.
func (in *instance) linger(c *child, timer *time.Timer) {
	in.lingering.add()
	in.pendingExit = c
	in.s.goroutine(func() {
		defer in.lingering.done()
		defer timer.Stop()
		select {
		case <-c.exited:
		case <-timer.C:
			in.s.out.logf("%s (the old pid %d) did not stop within %s after %s; sending SIGKILL to its process group",
				in.spec.ID, c.pid, in.spec.StopTimeout, signals.Name(in.spec.StopSignal))
			_ = signalGroup(c.pid, syscall.SIGKILL)
			<-c.exited
		case <-in.s.killCtx.Done():
			_ = signalGroup(c.pid, syscall.SIGKILL)
			<-c.exited
		}
		// Its exit is the instance's LastExit, unless the instance has
		// gone or something exited since.
		_ = in.send(context.Background(), command{kind: cmdReaped, old: c})
	})
}

// oldReaped makes a lingering child's exit the instance's LastExit, unless
// another exit came since.
func (in *instance) oldReaped(c *child) {
	if in.pendingExit != c {
		return
	}
	in.pendingExit = nil
	in.apply(event{kind: evOldExit, exit: c.exitString(), planned: true})
}
