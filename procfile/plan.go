package procfile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
)

// Instance is one planned copy of a process.
type Instance struct {
	Process *Process
	Index   int // 1-based
	Port    int
	ID      string // "web.2"
}

// ParseFormation parses a formation such as "web=3,worker=1" (spaces
// around names, counts and commas are tolerated; 0 means "do not start").
// Every bad part is named in the error, as the user typed it.
func ParseFormation(s string) (map[string]int, error) {
	f := map[string]int{}
	var errs []error
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, ok := strings.Cut(part, "=")
		name, count = strings.TrimSpace(name), strings.TrimSpace(count)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("-m %q: expected NAME=COUNT, like web=3", part))
			continue
		case !validName(name):
			errs = append(errs, fmt.Errorf("-m %q: invalid process name %q", part, name))
			continue
		}
		n, err := strconv.Atoi(count)
		switch {
		case err != nil || n < 0:
			errs = append(errs, fmt.Errorf("-m %q: instance count %q is not a whole number", part, count))
			continue
		case n > maxInstances:
			errs = append(errs, fmt.Errorf("-m %q: at most %d instances per process", part, maxInstances))
			continue
		}
		if _, dup := f[name]; dup {
			errs = append(errs, fmt.Errorf("-m %q: %s is given twice", part, name))
			continue
		}
		f[name] = n
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// count is how many instances of p run: as listed in the formation,
// else the manifest's instances, else 2 for "web" (so that balancing is
// visible from the start) and 1 for anything else.
func count(p *Process, formation map[string]int) int {
	if n, ok := formation[p.Name]; ok {
		return n
	}
	if p.Instances > 0 {
		return p.Instances
	}
	if p.Name == "web" {
		return 2
	}
	return 1
}

// Plan applies the formation and assigns ports: process k (0-based, manifest
// order) gets base basePort + defaults.PortStride*k (100), or its pinned port; its instance i
// (1-based) gets base + i - 1. basePort 0 means defaults.BasePort. A formation
// naming an unknown process, a port above 65535, or two instances sharing a
// port is an error.
func (m *Manifest) Plan(formation map[string]int, basePort int) ([]Instance, error) {
	if basePort == 0 {
		basePort = defaults.BasePort
	}
	if basePort < 1 || basePort > 65535 {
		return nil, fmt.Errorf("plan instances: base port %d is not between 1 and 65535", basePort)
	}
	var errs []error
	for name, n := range formation {
		switch {
		case m.Process(name) == nil:
			errs = append(errs, fmt.Errorf("-m: unknown process %q%s", name, suggestProcess(name, m)))
		case n < 0:
			errs = append(errs, fmt.Errorf("plan instances: %s=%d: the instance count must be 0 or more", name, n))
		case n > maxInstances:
			errs = append(errs, fmt.Errorf("plan instances: %s=%d: at most %d instances per process", name, n, maxInstances))
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	var plan []Instance
	owner := map[int]string{} // port → instance ID
	for _, p := range m.Processes {
		n := count(p, formation)
		for i := 1; i <= n; i++ {
			id := p.Name + "." + strconv.Itoa(i)
			port := m.PortFor(p, i, basePort)
			if port > 65535 {
				errs = append(errs, fmt.Errorf("plan instances: %s would get port %d, above 65535; choose a lower --port, or a lower \"port:\" for %s in devcluster.yaml",
					id, port, p.Name))
				break
			}
			if other, taken := owner[port]; taken {
				errs = append(errs, fmt.Errorf("plan instances: %s and %s would both get port %d; run fewer instances of %s, or give %s another \"port:\" in devcluster.yaml",
					other, id, port, strings.SplitN(other, ".", 2)[0], p.Name))
				break
			}
			owner[port] = id
			plan = append(plan, Instance{Process: p, Index: i, Port: port, ID: id})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plan, nil
}

// PlanScale is Plan for "devcluster scale PROCESS=N" on a running cluster:
// formation holds the current count of each process (a process it leaves out
// runs its manifest count, as in Plan), and process is set to n in a copy of
// it. It returns the whole plan of the new formation, or the errors -m would
// give at start-up for it: an unknown process, more than 1000 instances, two
// instances of different processes on one port, a port above 65535. Scaling
// must not check less than starting: computing one new instance's port alone
// (PortFor) lets a.101 land on b.1's pinned port. Instances that keep running
// keep their ports, since the plan depends only on the formation.
func (m *Manifest) PlanScale(formation map[string]int, process string, n, basePort int) ([]Instance, error) {
	if m.Process(process) == nil {
		return nil, fmt.Errorf("plan instances: unknown process %q%s", process, suggestProcess(process, m))
	}
	next := maps.Clone(formation)
	if next == nil {
		next = map[string]int{}
	}
	next[process] = n
	return m.Plan(next, basePort)
}

// PortFor returns the port of instance index (1-based) of p under the port
// rule of Plan, without Plan's checks (use PlanScale to add instances to a
// running cluster). It returns 0 when p is not a process of m.
func (m *Manifest) PortFor(p *Process, index, basePort int) int {
	if basePort == 0 {
		basePort = defaults.BasePort
	}
	if p.Port > 0 {
		return p.Port + index - 1
	}
	for k, q := range m.Processes {
		if q == p || q.Name == p.Name {
			return basePort + defaults.PortStride*k + index - 1
		}
	}
	return 0
}

// suggestProcess names the processes of m for an unknown-name error.
func suggestProcess(name string, m *Manifest) string {
	names := make([]string, len(m.Processes))
	for i, p := range m.Processes {
		names[i] = p.Name
	}
	if near := closest(name, names); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

func sortErrors(errs []error) {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
}

// UnknownProcess is the error for a process name the manifest does not have,
// as -m words it, for commands that take process names (up NAME…): the
// nearest name, or the known ones.
func (m *Manifest) UnknownProcess(name string) error {
	return fmt.Errorf("unknown process %q%s", name, suggestProcess(name, m))
}
