package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// onto a new generation, one instance at a time: drain → stop → port free → start
// → ready → back in rotation. The first instance is the canary: if it fails to
// become ready, the roll stops there, its output tail is logged, and the others
// keep serving the previous version (the canary keeps retrying with backoff).
//
// A Reload of a process whose roll is running cancels the rest of that roll (the
// earlier call returns an error saying so) and starts over once the instance being
// restarted is back, so never two instances are out at once. Processes roll in
// parallel; Reload returns when all are done.
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

// roll restarts process's instances (only those in only, when not nil) one at a
// time onto a new generation.
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

	var list []*instance
	for _, in := range s.processInstances(process) {
		if only != nil && !only[in.spec.ID] {
			continue
		}
		if only == nil && in.snapshot().State == StateStopped {
			continue // stopped by hand: stays stopped, gets the new code when started
		}
		list = append(list, in)
	}
	for i, in := range list {
		if rctx.Err() != nil {
			return s.rollStopped(ctx, verb, process)
		}
		since := s.now()
		// The step is not cancelled by a newer roll: it ends when the instance is
		// ready or has failed, so the newer roll never finds two instances out.
		if err := in.send(context.WithoutCancel(ctx), command{kind: cmdRestart, gen: gen}); err != nil {
			var rest []string
			for _, o := range list[i+1:] {
				rest = append(rest, o.spec.ID)
			}
			s.reportFailedStep(in.spec.ID, since, rest)
			return fmt.Errorf("%s %s: %w", verb, process, err)
		}
	}
	return nil
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
