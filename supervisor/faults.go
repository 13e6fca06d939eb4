package supervisor

import (
	"context"
	"fmt"
	"syscall"
)

// KillInstance SIGKILLs id's process group, as the kernel's OOM killer or a
// `kill -9` would: the exit is no planned stop, so the restart policy applies and
// the restart counts in Restarts. It returns once the signal is sent; the instance
// comes back (or not, per its policy) on its own.
func (s *Supervisor) KillInstance(ctx context.Context, id string) error {
	return s.fault(ctx, "kill", id, cmdKill)
}

// PauseInstance freezes id with SIGSTOP: its process group and every process
// carrying its DEVCLUSTER_RUN marker (a daemon that left the group too). The
// port stays bound and the kernel still accepts connections on it, but nothing
// answers: a hung server, which only the balancer's health checks can take out
// of rotation. Pausing a paused instance does nothing; an instance with no
// process (stopped, down, between crash restarts) cannot be paused.
func (s *Supervisor) PauseInstance(ctx context.Context, id string) error {
	return s.fault(ctx, "pause", id, cmdPause)
}

// ResumeInstance continues (SIGCONT) what PauseInstance froze. Resuming an
// instance that is not paused does nothing, so that a fault's timer may fire
// after a stop, restart, reload or kill, each of which resumes a paused
// instance first (a stop signal stays pending on a stopped process, and its
// in-flight requests would never end a drain).
func (s *Supervisor) ResumeInstance(ctx context.Context, id string) error {
	return s.fault(ctx, "resume", id, cmdResume)
}

func (s *Supervisor) fault(ctx context.Context, verb, id string, kind cmdKind) error {
	in, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	if err := in.send(ctx, command{kind: kind}); err != nil {
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	return nil
}

// fault runs a kill, pause or resume in the instance's goroutine.
func (in *instance) fault(kind cmdKind) error {
	switch kind {
	case cmdKill:
		return in.kill()
	case cmdPause:
		return in.pause()
	default:
		return in.resume("")
	}
}

// noProcess says why there is nothing to signal.
func (in *instance) noProcess(verb string) error {
	return fmt.Errorf("it is %s, so there is no process to %s", in.life.state, verb)
}

func (in *instance) kill() error {
	c := in.child
	if c == nil {
		return in.noProcess("kill")
	}
	if err := signalGroup(c.pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL process group %d: %w", c.pid, err)
	}
	// What left the group goes once the leader is reaped (see killDetached), and
	// the exit takes the crash path: onExit, then the restart policy.
	in.s.out.logf("%s: sent SIGKILL to process group %d (fault: kill)", in.spec.ID, c.pid)
	return nil
}

func (in *instance) pause() error {
	c := in.child
	if c == nil {
		return in.noProcess("pause")
	}
	if in.life.paused {
		return nil
	}
	if err := signalGroup(c.pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP process group %d: %w", c.pid, err)
	}
	// Listed after the group has stopped, so that no member forks meanwhile.
	signalProcs(in.s.detached(in.spec.ID, c.pid), syscall.SIGSTOP)
	in.apply(event{kind: evPaused})
	what := "it answers nothing until resumed"
	if in.spec.Port > 0 {
		what = fmt.Sprintf("it keeps port %d but answers nothing until resumed", in.spec.Port)
	}
	in.s.out.logf("%s paused: sent SIGSTOP to process group %d (fault: pause); %s", in.spec.ID, c.pid, what)
	return nil
}

// resume continues a paused instance; it does nothing when it is not paused. why
// ends the log line ("so that it can stop").
func (in *instance) resume(why string) error {
	if !in.life.paused {
		return nil
	}
	in.apply(event{kind: evResumed})
	c := in.child
	if c == nil {
		return nil
	}
	err := signalGroup(c.pid, syscall.SIGCONT)
	signalProcs(in.s.detached(in.spec.ID, c.pid), syscall.SIGCONT)
	if err != nil {
		return fmt.Errorf("SIGCONT process group %d: %w", c.pid, err)
	}
	if why != "" {
		why = " " + why
	}
	in.s.out.logf("%s resumed: sent SIGCONT to process group %d%s", in.spec.ID, c.pid, why)
	return nil
}
