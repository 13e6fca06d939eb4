package procfile

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/signals"
	"gopkg.in/yaml.v3"
)

func (y *yamlParser) processes(v *yaml.Node) []*Process {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "processes must be a mapping of process names to settings, got %s", kindName(v))
		return nil
	}
	var procs []*Process
	y.mapping(v, "in processes", nil, func(name string, k, v *yaml.Node) {
		if !validName(name) {
			y.c.addf(k.Line, "invalid process name %s: use only letters, digits, \"_\" and \"-\"", quoteShort(name))
			return
		}
		if p := y.process(name, k, v); p != nil {
			procs = append(procs, p)
		}
	})
	return procs
}

// process parses one entry of processes: either a mapping of settings or,
// as a shorthand, the command alone ("web: python3 app.py").
func (y *yamlParser) process(name string, k, v *yaml.Node) *Process {
	p := &Process{Name: name, Line: k.Line, Restart: defaults.Restart, StopSignal: defaults.StopSignal}
	switch {
	case isNull(v):
		y.c.addf(k.Line, "process %q has no command; add \"command: ...\" under it", name)
		return nil
	case v.Kind == yaml.ScalarNode:
		p.Command = strings.TrimSpace(v.Value)
		if p.Command == "" {
			y.c.addf(k.Line, "process %q has an empty command", name)
			return nil
		}
		if !y.command(p, v) {
			return nil
		}
		return p
	case v.Kind != yaml.MappingNode:
		y.c.addf(v.Line, "process %q must be a mapping (command, instances, ...) or a command string, got %s", name, kindName(v))
		return nil
	}
	hasCommand := false
	y.mapping(v, fmt.Sprintf("in process %q", name), processKeys(), func(key string, k, v *yaml.Node) {
		hasCommand = hasCommand || key == "command"
		y.processSetting(p, key, k, v)
	})
	if !hasCommand {
		y.c.addf(k.Line, "process %q has no command; add \"command: ...\" under it", name)
		return nil
	}
	if p.Command == "" {
		return nil
	}
	return p
}

// processSetting reads one key of a process's mapping into p.
func (y *yamlParser) processSetting(p *Process, key string, k, v *yaml.Node) {
	field := p.Name + "." + key
	switch key {
	case "command":
		if s, ok := y.str(v, field); ok {
			p.Command = strings.TrimSpace(s)
			if p.Command == "" {
				y.c.addf(v.Line, "%s is empty; write the command that starts the process", field)
			} else if !y.command(p, v) {
				p.Command = ""
			}
		}
	case "instances", "port", "weight", "maxconn":
		if n, ok := y.integer(v, field); ok {
			y.processNumber(p, key, v, n)
		}
	case "env":
		p.Env = y.env(v, field)
	case "restart":
		p.Restart = y.enum(v, field, "restart policy", defaults.RestartPolicies(), false)
		if p.Restart == "" {
			p.Restart = defaults.Restart
		}
	case "stop_signal":
		if s := y.enum(v, field, "stop signal", signals.Names(), true); s != "" {
			p.StopSignal = s
		}
	case "stop_timeout":
		p.StopTimeout, _ = y.duration(v, field)
	case "health":
		p.Health = y.health(v, field)
	case "proxy":
		y.processProxy(p, v, field)
	case "watch":
		p.Watch = y.watch(k, v, field)
	case "reload":
		p.Reload = y.reload(k, v, field)
	case "depends_on":
		p.DependsOn, p.DependsOnLine = y.strings(v, field), k.Line
	case "ready":
		p.Ready = y.ready(k, v, field)
	}
}

// command checks that p's command can run as sh -c COMMAND, reporting on
// the line of v why not.
func (y *yamlParser) command(p *Process, v *yaml.Node) bool {
	msg := commandProblem(p.Name, p.Command, func(off int) string {
		return fmt.Sprintf(" at character %d of the command", utf8.RuneCountInString(p.Command[:off])+1)
	})
	if msg != "" {
		y.c.addf(v.Line, "%s", msg)
		return false
	}
	return true
}

// processNumber checks the bounds of a process's whole-number setting n and
// stores it in p.
func (y *yamlParser) processNumber(p *Process, key string, v *yaml.Node, n int) {
	field := p.Name + "." + key
	switch key {
	case "instances":
		switch {
		case n < 1:
			y.c.addf(v.Line, "%s must be at least 1, got %d (to start none, run with -m %s=0)", field, n, p.Name)
		case n > maxInstances:
			y.c.addf(v.Line, "%s must be at most %d, got %d", field, maxInstances, n)
		default:
			p.Instances = n
		}
	case "port":
		if n < 1 || n > 65535 {
			y.c.addf(v.Line, "%s must be between 1 and 65535, got %d", field, n)
		} else {
			p.Port = n
		}
	case "weight":
		if n < 1 || n > maxWeight {
			y.c.addf(v.Line, "%s must be between 1 and %d, got %d", field, maxWeight, n)
		} else {
			p.Weight = n
		}
	case "maxconn":
		if n < 0 {
			y.c.addf(v.Line, "%s must be 0 (unlimited) or more, got %d", field, n)
		} else {
			p.MaxConn = n
		}
	}
}

func (y *yamlParser) env(v *yaml.Node, field string) map[string]string {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping of NAME: value, got %s", field, kindName(v))
		return nil
	}
	env := map[string]string{}
	y.mapping(v, "in "+field, nil, func(key string, k, v *yaml.Node) {
		if !validEnvKey(key) {
			y.c.addf(k.Line, "invalid variable name %s in %s: use letters, digits and \"_\", not starting with a digit", quoteShort(key), field)
			return
		}
		if isNull(v) {
			env[key] = ""
			return
		}
		if s, ok := y.str(v, field+"."+key); ok {
			if msg := envProblem(key, s); msg != "" {
				y.c.addf(v.Line, "%s: %s", field, msg)
				return
			}
			env[key] = s
		}
	})
	return env
}

func (y *yamlParser) health(v *yaml.Node, field string) Health {
	var h Health
	if isNull(v) {
		return h
	}
	if v.Kind == yaml.ScalarNode {
		if s, ok := y.str(v, field); ok {
			h.Path = y.path(v, field, s)
		}
		return h
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a path like /health or a mapping (path, interval, timeout, rise, fall), got %s", field, kindName(v))
		return h
	}
	y.mapping(v, "in "+field, healthKeys(), func(key string, k, v *yaml.Node) {
		f := field + "." + key
		switch key {
		case "path":
			if s, ok := y.str(v, f); ok {
				h.Path = y.path(v, f, s)
			}
		case "interval":
			h.Interval, _ = y.duration(v, f)
		case "timeout":
			h.Timeout, _ = y.duration(v, f)
		case "rise":
			h.Rise = y.positive(v, f)
		case "fall":
			h.Fall = y.positive(v, f)
		}
	})
	return h
}

// processProxy reads a process's proxy: either a bool (balanced or not) or
// a mapping {prefix: /api}, which means balanced under that prefix.
func (y *yamlParser) processProxy(p *Process, v *yaml.Node, field string) {
	if v.Kind == yaml.MappingNode {
		on := true
		p.Balanced = &on
		y.mapping(v, "in "+field, processProxyKeys(), func(key string, k, v *yaml.Node) {
			if s, ok := y.str(v, field+".prefix"); ok {
				p.Prefix = y.path(v, field+".prefix", s)
			}
		})
		return
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		y.c.addf(v.Line, "%s must be true, false or a mapping like {prefix: /api}, got %s", field, describe(v))
		return
	}
	p.Balanced = &b
}

func (y *yamlParser) watch(k, v *yaml.Node, field string) Watch {
	w := Watch{Line: k.Line}
	if isNull(v) {
		return w
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping (paths, include, exclude), got %s", field, kindName(v))
		return w
	}
	y.mapping(v, "in "+field, watchKeys(), func(key string, k, v *yaml.Node) {
		f := field + "." + key
		list := y.strings(v, f)
		switch key {
		case "paths":
			w.Paths = list
		case "include", "exclude":
			for i, pat := range list {
				if !doublestar.ValidatePattern(pat) {
					line := v.Line
					if v.Kind == yaml.SequenceNode && i < len(v.Content) {
						line = v.Content[i].Line
					}
					y.c.addf(line, "%s: invalid glob pattern %q (check its brackets and braces)", f, pat)
				}
			}
			if key == "include" {
				w.Include = list
			} else {
				w.Exclude = list
			}
		}
	})
	return w
}
