package procfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/devcluster/devcluster/internal/defaults"
	"gopkg.in/yaml.v3"
)

// ready parses a process's ready: mapping, which holds exactly one rule.
func (y *yamlParser) ready(k, v *yaml.Node, field string) Ready {
	r := Ready{Line: k.Line}
	if v.Kind != yaml.MappingNode || len(v.Content) != 2 {
		y.c.addf(v.Line, "%s must be a mapping with one rule: {tcp: PORT}, {command: \"...\"} or {log: \"regexp\"}, got %s", field, describe(v))
		return r
	}
	y.mapping(v, "in "+field, defaults.ReadyKinds(), func(key string, k, v *yaml.Node) {
		f := field + "." + key
		switch key {
		case "tcp":
			if n, ok := y.integer(v, f); ok {
				if n < 1 || n > 65535 {
					y.c.addf(v.Line, "%s must be a port between 1 and 65535, got %d", f, n)
				} else {
					r.TCP = n
				}
			}
		case "command":
			s, ok := y.str(v, f)
			if s = strings.TrimSpace(s); !ok {
				return
			} else if s == "" {
				y.c.addf(v.Line, "%s is empty; write a command that exits 0 once the process is ready", f)
				return
			}
			if msg := commandProblem(f, s, func(off int) string {
				return fmt.Sprintf(" at character %d of %s", utf8.RuneCountInString(s[:off])+1, f)
			}); msg != "" {
				y.c.addf(v.Line, "%s", msg)
				return
			}
			r.Command = s
		case "log":
			s, ok := y.str(v, f)
			if !ok {
				return
			}
			if s == "" {
				y.c.addf(v.Line, "%s is empty; write a regular expression that a line of the process's output matches once it is ready", f)
				return
			}
			if _, err := regexp.Compile(s); err != nil {
				y.c.addf(v.Line, "%s: invalid regular expression: %v", f, err)
				return
			}
			r.Log = s
		}
	})
	return r
}

// checkDependsOn checks every process's depends_on: and ready: against the
// others: each name a process of the manifest other than itself, no cycle,
// and ready: only where the proxy's own check does not decide.
func (y *yamlParser) checkDependsOn(m *Manifest) {
	for _, p := range m.Processes {
		if p.Ready.Set() && m.IsBalanced(p) {
			y.c.addf(p.Ready.Line, "%s.ready: %s is balanced by the proxy, which takes it as ready once its port accepts connections; use health: for an HTTP check, or remove ready:", p.Name, p.Name)
		} else if p.Ready.Set() && p.Health.Path != "" {
			y.c.addf(p.Ready.Line, "%s has both health: and ready:; keep one readiness rule", p.Name)
		}
		for i, name := range p.DependsOn {
			switch {
			case name == p.Name:
				y.c.addf(p.DependsOnLine, "%s.depends_on names %s itself; a process cannot wait for its own start", p.Name, p.Name)
			case m.Process(name) == nil:
				y.c.addf(p.DependsOnLine, "%s.depends_on: unknown process %q%s", p.Name, name, suggestProcess(name, m))
			case slices.Contains(p.DependsOn[:i], name):
				y.c.addf(p.DependsOnLine, "%s.depends_on names %s twice; remove one", p.Name, name)
			}
		}
	}
	if len(y.c.errs) > 0 {
		return
	}
	if cycle := dependencyCycle(m); cycle != nil {
		first := m.Process(cycle[0])
		y.c.addf(first.DependsOnLine, "depends_on forms a cycle: %s; none of them could start first, remove one of these depends_on entries",
			strings.Join(cycle, " → "))
	}
}

// dependencyCycle returns the first cycle of depends_on found in manifest
// order, as process names from the first back to it ("a", "b", "a"), or nil.
func dependencyCycle(m *Manifest) []string {
	const (
		unseen = iota
		open
		done
	)
	mark := map[string]int{}
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		switch mark[name] {
		case open:
			at := slices.Index(path, name)
			return append(slices.Clone(path[at:]), name)
		case done:
			return nil
		}
		mark[name] = open
		path = append(path, name)
		for _, dep := range m.Process(name).DependsOn {
			if c := visit(dep); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
		return nil
	}
	for _, p := range m.Processes {
		if c := visit(p.Name); c != nil {
			return c
		}
	}
	return nil
}
