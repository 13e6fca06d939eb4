package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// tailLines is how much of a failed canary's output is repeated in the log.
const tailLines = 20

// roll is a rolling restart in progress for one process.
type roll struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Reload rolls every instance of each process (all processes when none is named)
// onto a new generation. Each instance's step is drain → stop → port free → start
// → ready → back in rotation. The first instance is the canary and goes alone: if
// it fails to become ready, the roll stops there, its output tail is logged, and
// the others keep serving the previous version (the canary keeps retrying with
// backoff). The rest roll in waves of InstanceSpec.MaxUnavailable instances at
// once, each wave waiting for the previous one to be ready; a wave that fails
// stops the roll the same way. A wave is made smaller when it would otherwise
// take out every instance of the process that is serving (ready and not paused):
// one always stays in rotation, unless the process has a single serving instance
// left and the wave is that one (a one-instance process cannot reload without a
// gap; give it two).
//
// A Reload of a process whose roll is running cancels the rest of that roll (the
// earlier call returns an error saying so) and starts over once the wave being
// restarted is back, so never more than one wave is out at once. Processes roll
// in parallel; Reload returns when all are done.
//
// There is no surge (Kubernetes' maxSurge: start the replacement before the old
// instance stops), because no way of doing it is clean here. The replacement
// cannot bind the instance's port while the old process holds it, and it cannot
// share it: SO_REUSEPORT must be set by the app itself (gunicorn's --reuse-port
// does, Flask's and Django's development servers do not), and handing it a socket
// devcluster holds is a per-framework protocol (systemd's LISTEN_FDS for gunicorn;
// Werkzeug's WERKZEUG_SERVER_FD belongs to its own reloader and is removed on
// purpose). On a spare port, the instance would either keep that port for good
// (web.2 would no longer be on 5001: PORT, ps, a curl straight at the instance and
// every per-instance file keyed on the port would move at every save) or be
// restarted once more on its own port, the second restart costing what the surge
// saved. And the supervisor cannot know a port that is free from other processes'
// port plans and from the rest of the machine before it needs one. Waves give the
// speed; keeping one instance in rotation gives the availability.
func (s *Supervisor) Reload(ctx context.Context, processes ...string) error {
	if len(processes) == 0 {
		processes = s.processNames()
	}
	targets := make(map[string]map[string]bool, len(processes))
	for _, p := range processes {
		if len(s.processInstances(p)) == 0 {
			return fmt.Errorf("reload %s: no such process", p)
		}
		targets[p] = nil
	}
	return s.rollAll(ctx, "reload", targets)
}

// SetEnv makes env (the full environment, as InstanceSpec.Env) the environment
// of every instance of process from its next start on: cmd calls it when the
// .env files changed, before the reload that follows. Instances running keep
// theirs until then; their warm standbys are replaced.
func (s *Supervisor) SetEnv(ctx context.Context, process string, env []string) error {
	list := s.processInstances(process)
	if len(list) == 0 {
		return fmt.Errorf("set the environment of %s: no such process", process)
	}
	var errs []error
	for _, in := range list {
		if err := in.send(ctx, command{kind: cmdSetEnv, env: env}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Restart is a rolling restart of targets: process names (every instance that is
// not stopped) or instance IDs (even stopped ones). No target means every process.
func (s *Supervisor) Restart(ctx context.Context, targets ...string) error {
	if len(targets) == 0 {
		return s.Reload(ctx)
	}
	byProcess := make(map[string]map[string]bool)
	for _, t := range targets {
		if len(s.processInstances(t)) > 0 {
			byProcess[t] = nil
			continue
		}
		in, err := s.lookup(t)
		if err != nil {
			return fmt.Errorf("restart %s: no process or instance of that name", t)
		}
		p := in.spec.Process
		if ids, seen := byProcess[p]; seen && ids == nil {
			continue // the whole process is already targeted
		}
		if byProcess[p] == nil {
			byProcess[p] = make(map[string]bool)
		}
		byProcess[p][t] = true
	}
	return s.rollAll(ctx, "restart", byProcess)
}

func (s *Supervisor) processNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	seen := make(map[string]bool)
	for _, in := range s.instances {
		if !seen[in.spec.Process] {
			seen[in.spec.Process] = true
			names = append(names, in.spec.Process)
		}
	}
	return names
}

func (s *Supervisor) rollAll(ctx context.Context, verb string, targets map[string]map[string]bool) error {
	errc := make(chan error, len(targets))
	for p, only := range targets {
		go func() { errc <- s.roll(ctx, verb, p, only) }()
	}
	var errs []error
	for range targets {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// roll restarts process's instances (only those in only, when not nil) onto a
// new generation: the canary alone, then the others in waves (see Reload).
func (s *Supervisor) roll(ctx context.Context, verb, process string, only map[string]bool) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return fmt.Errorf("%s %s: %w", verb, process, errNotRunning)
	}
	prev := s.rolls[process]
	if prev != nil {
		prev.cancel()
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &roll{cancel: cancel, done: make(chan struct{})}
	s.rolls[process] = r
	s.gens[process]++
	gen := s.gens[process]
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		if s.rolls[process] == r {
			delete(s.rolls, process)
		}
		s.mu.Unlock()
		close(r.done)
	}()
	if prev != nil {
		select {
		case <-prev.done:
		case <-rctx.Done():
			return s.rollStopped(ctx, verb, process)
		}
	}

	list := s.rollTargets(process, only)
	for done := 0; done < len(list); {
		if rctx.Err() != nil {
			return s.rollStopped(ctx, verb, process)
		}
		n := 1 // the canary goes alone
		if done > 0 {
			n = s.waveSize(process, list[done:])
		}
		// A wave is not cancelled by a newer roll: it ends when its instances are
		// ready or have failed, so the newer roll never finds two waves out.
		if err := s.rollWave(context.WithoutCancel(ctx), gen, list[done:done+n], list[done+n:]); err != nil {
			return fmt.Errorf("%s %s: %w", verb, process, err)
		}
		done += n
	}
	// The old processes the roll stopped may still be exiting (see linger): the
	// roll is over once they are gone and their exits are LastExit.
	for _, in := range list {
		in.lingering.wait(ctx)
	}
	return nil
}

// rollTargets lists the instances a roll of process restarts, in index order:
// those in only, or when only is nil every one not stopped by hand (it stays
// stopped and gets the new code when started).
func (s *Supervisor) rollTargets(process string, only map[string]bool) []*instance {
	var list []*instance
	for _, in := range s.processInstances(process) {
		if only != nil && !only[in.spec.ID] {
			continue
		}
		if only == nil && in.snapshot().State == StateStopped {
			continue
		}
		list = append(list, in)
	}
	return list
}

// waveSize is how many of pending (the instances still to roll, in order) the
// next wave restarts: MaxUnavailable (or MaxUnavailableFor the process's
// instances now), or fewer when the wave would take out every
// instance of the process that is serving, but always at least one. A wave of
// instances that serve nothing (down, crash-looping) takes nothing out.
func (s *Supervisor) waveSize(process string, pending []*instance) int {
	all := s.processInstances(process)
	limit := pending[0].spec.MaxUnavailable
	if f := pending[0].spec.MaxUnavailableFor; f != nil {
		limit = max(f(len(all)), 1)
	}
	n := min(limit, len(pending))
	for ; n > 1; n-- {
		inside, outside := 0, 0
		for _, in := range all {
			switch {
			case !in.serving():
			case slices.Contains(pending[:n], in):
				inside++
			default:
				outside++
			}
		}
		if outside > 0 || inside == 0 {
			return n
		}
	}
	return 1
}

// rollWave restarts the instances of wave together and returns once each is
// ready or has failed. Each failure is reported with rest, the instances that
// still serve the previous version.
func (s *Supervisor) rollWave(ctx context.Context, gen int, wave, rest []*instance) error {
	since := s.now()
	errs := make([]error, len(wave))
	var wg sync.WaitGroup
	for i, in := range wave {
		wg.Go(func() { errs[i] = in.send(ctx, command{kind: cmdRestart, gen: gen}) })
	}
	wg.Wait()
	restIDs := make([]string, 0, len(rest))
	for _, in := range rest {
		restIDs = append(restIDs, in.spec.ID)
	}
	for i, err := range errs {
		if err != nil {
			s.reportFailedStep(wave[i].spec.ID, since, restIDs)
		}
	}
	return errors.Join(errs...)
}

func (s *Supervisor) rollStopped(ctx context.Context, verb, process string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", verb, process, err)
	}
	return fmt.Errorf("%s %s: superseded by a newer reload", verb, process)
}

// reportFailedStep logs the tail of id's output since the step began (the
// traceback, usually) and which instances still serve the previous version.
func (s *Supervisor) reportFailedStep(id string, since time.Time, rest []string) {
	lines := s.out.tail(id, tailLines, since)
	block := make([]string, 0, len(lines)+2)
	if len(lines) > 0 {
		block = append(block, fmt.Sprintf("%s output (last %d lines):", id, len(lines)))
		for _, l := range lines {
			block = append(block, "  "+l.Text)
		}
	}
	switch len(rest) {
	case 0:
		block = append(block, fmt.Sprintf("%s failed to start the new code; it keeps retrying. Fix the error and save again.", id))
	case 1:
		block = append(block, fmt.Sprintf("%s failed to start the new code; %s still serves the previous version. Fix the error and save again.", id, rest[0]))
	default:
		block = append(block, fmt.Sprintf("%s failed to start the new code; %s still serve the previous version. Fix the error and save again.", id, strings.Join(rest, ", ")))
	}
	s.out.logBlock(block)
}
