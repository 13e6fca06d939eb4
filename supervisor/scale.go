package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Scale sets the number of process's instances to n. New instances (specs from
// Config.SpecFor, ports checked first) start at once and Scale returns when they
// are ready; surplus ones are drained and stopped highest-numbered first, one at a
// time, then forgotten.
func (s *Supervisor) Scale(ctx context.Context, process string, n int) error {
	if n < 0 {
		return fmt.Errorf("scale %s: %d instances: want 0 or more", process, n)
	}
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return fmt.Errorf("scale %s: %w", process, errNotRunning)
	}
	if _, known := s.gens[process]; !known {
		s.mu.Unlock()
		return fmt.Errorf("scale %s: no such process", process)
	}
	var current []*instance
	last := -1
	for i, in := range s.instances {
		if in.spec.Process == process {
			current = append(current, in)
			last = i
		}
	}
	if n > len(current) {
		added, err := s.addInstances(process, current, n)
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("scale %s to %d: %w", process, n, err)
		}
		if last < 0 {
			s.instances = append(s.instances, added...)
		} else {
			s.instances = append(s.instances[:last+1], append(added, s.instances[last+1:]...)...)
		}
		runCtx := s.runCtx
		for _, in := range added {
			s.goroutine(func() { in.run(runCtx) })
		}
		s.mu.Unlock()
		var errs []error
		for _, in := range added {
			if err := in.send(ctx, command{kind: cmdStart}); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("scale %s to %d: %w", process, n, err)
		}
		return nil
	}
	s.mu.Unlock()
	sort.Slice(current, func(i, j int) bool { return current[i].spec.Index > current[j].spec.Index })
	for _, in := range current[:len(current)-n] {
		if err := in.send(ctx, command{kind: cmdRemove}); err != nil {
			return fmt.Errorf("scale %s to %d: stop %s: %w", process, n, in.spec.ID, err)
		}
		<-in.done
		s.mu.Lock()
		for i, x := range s.instances {
			if x == in {
				s.instances = append(s.instances[:i], s.instances[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}
	return nil
}

// addInstances builds the instances that take process from len(current) to n,
// checking their specs and ports. Called with s.mu held.
func (s *Supervisor) addInstances(process string, current []*instance, n int) ([]*instance, error) {
	if s.cfg.SpecFor == nil {
		return nil, errors.New("scaling up is not configured (no SpecFor)")
	}
	next := 1
	for _, in := range current {
		next = max(next, in.spec.Index+1)
	}
	var added []*instance
	var errs []error
	for i := len(current); i < n; i++ {
		sp, err := s.cfg.SpecFor(process, next)
		if err == nil {
			sp, err = normalize(sp)
		}
		if err != nil {
			errs = append(errs, err)
			next++
			continue
		}
		if sp.Port > 0 && !portFree(sp.Port) {
			errs = append(errs, busyPortError(sp.ID, sp.Port))
		}
		added = append(added, newInstance(s, sp, false, s.gens[process]))
		next++
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return added, nil
}
