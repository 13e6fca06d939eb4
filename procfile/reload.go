package procfile

import (
	"strconv"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
	"gopkg.in/yaml.v3"
)

// Reload says how a process's instances are replaced when its files change:
// the reload: key of a process in devcluster.yaml, in the terms of a
// Kubernetes Deployment's rolling update.
//
//	processes:
//	  web:
//	    command: python3 app.py
//	    instances: 8
//	    reload: {max_unavailable: 50%, max_surge: 0}
//
// The first instance is always replaced alone, as a canary: if it does not
// become ready, the others keep the old code. The rest are replaced in waves
// of up to MaxUnavailable instances at once, each wave waiting for the one
// before it to be ready. The default, one at a time, makes a reload take
// about (instances × the app's start time); raise max_unavailable when that
// is too slow (many instances, or an app that takes a second to import), and
// keep it at 1 for an app whose instances must not all be on the new code
// before it has proved itself on most of them, or that does heavy work at
// start (migrations, cache warm-up) that should not run many times at once.
// However high it is set, one instance always stays in rotation.
//
// MaxSurge is how many replacements may be started before the instances they
// replace are stopped, so that a wave costs no capacity. Instances keep
// their ports, so a surge instance would need a spare port of its own; the
// supervisor has none to give (see supervisor.Reload) and treats MaxSurge as
// 0, so a max_surge above 0 is parsed, kept for Resolve and export, and
// reported among Manifest.Warnings.
//
// Standby keeps, for each instance, a warm standby: its next process, a
// Python interpreter that has already imported the app's libraries (never the
// app's own modules) and waits. A start (a reload, a restart, a crash) then
// costs the app's own import and binding its port instead of Python's start
// and Flask's or Django's import: several times faster, for one idle
// interpreter per instance (31 MB each for Flask, measured). See supervisor.InstanceSpec.Standby.
type Reload struct {
	MaxUnavailable IntOrPercent // unset → defaults.ReloadMaxUnavailable (1); percentages round down
	MaxSurge       IntOrPercent // unset → defaults.ReloadMaxSurge (0); percentages round up
	Standby        bool         // standby: true
	StandbyLine    int          // line of the standby: key, for messages; 0 when not written
	Line           int          // line of the reload: key (yaml), for messages; 0 when not written
}

// IntOrPercent is a number of instances written either as a count (2) or as
// a percentage of the process's instances ("50%"), like Kubernetes'
// intstr.IntOrString. The zero value is "not written", which takes the
// default; a written 0 has Set.
type IntOrPercent struct {
	Value   int  // the count, or the percentage when Percent
	Percent bool // Value is a percentage of the instances
	Set     bool // written in the manifest
}

// String returns the value as written: "2", "50%", or "" when not set.
func (v IntOrPercent) String() string {
	switch {
	case !v.Set:
		return ""
	case v.Percent:
		return strconv.Itoa(v.Value) + "%"
	}
	return strconv.Itoa(v.Value)
}

// scaled returns v for a process of n instances: def when not set, a
// percentage rounded down or (up) up. Negative values count as 0 and
// percentages above 100 as 100, so that a value built by hand cannot make
// Resolve overflow.
func (v IntOrPercent) scaled(n, def int, up bool) int {
	if !v.Set {
		return def
	}
	x := max(v.Value, 0)
	if !v.Percent {
		return x
	}
	x = min(x, 100)
	if up {
		return (n*x + 99) / 100
	}
	return n * x / 100
}

// Resolve returns, for a process running instances instances, how many may
// be out of rotation at once during a reload (the wave size) and how many
// replacements may be started ahead of the instances they replace.
//
// It rounds as Kubernetes does (max_unavailable down, max_surge up: 50% of 3
// is 1 unavailable, 1 surge), then clamps: surge to at most instances;
// unavailable to at most instances-1 when there is more than one instance,
// so that one always stays serving, and to at least 1 when surge is 0, so
// that the reload can proceed (10% of 3 rounds down to 0, and becomes 1). With one
// instance and no surge, unavailable is 1: the only way to reload it.
// Unavailable is 0 only when surge > 0 and max_unavailable was 0 (or rounds
// to 0): every replacement is then started before its old instance stops.
// With instances < 1 it returns 0, 0.
func (r Reload) Resolve(instances int) (unavailable, surge int) {
	if instances < 1 {
		return 0, 0
	}
	unavailable = r.MaxUnavailable.scaled(instances, defaults.ReloadMaxUnavailable, false)
	surge = min(r.MaxSurge.scaled(instances, defaults.ReloadMaxSurge, true), instances)
	unavailable = min(unavailable, max(instances-1, 1))
	if unavailable == 0 && surge == 0 {
		unavailable = 1
	}
	return unavailable, surge
}

// String describes r for check and ps: "max_unavailable 50%, max_surge 0",
// with the defaults where nothing was written.
func (r Reload) String() string {
	u, s := r.MaxUnavailable.String(), r.MaxSurge.String()
	if u == "" {
		u = strconv.Itoa(defaults.ReloadMaxUnavailable)
	}
	if s == "" {
		s = strconv.Itoa(defaults.ReloadMaxSurge)
	}
	out := "max_unavailable " + u + ", max_surge " + s
	if r.Standby {
		out += ", standby"
	}
	return out
}

func reloadKeys() []string { return []string{"max_unavailable", "max_surge", "standby"} }

// reload reads a process's reload: mapping.
func (y *yamlParser) reload(k, v *yaml.Node, field string) Reload {
	r := Reload{Line: k.Line}
	if isNull(v) {
		return r
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping like {max_unavailable: 50%%, max_surge: 0}, got %s", field, describe(v))
		return r
	}
	unavailableLine, surgeLine := 0, 0
	y.mapping(v, "in "+field, reloadKeys(), func(key string, k, v *yaml.Node) {
		if key == "standby" {
			if b, ok := y.boolean(v, field+".standby"); ok {
				r.Standby, r.StandbyLine = b, k.Line
			}
			return
		}
		n, ok := y.intOrPercent(v, field+"."+key)
		if !ok {
			return
		}
		if key == "max_unavailable" {
			r.MaxUnavailable, unavailableLine = n, k.Line
		} else {
			r.MaxSurge, surgeLine = n, k.Line
		}
	})
	if r.MaxSurge.Value > 0 {
		y.warnf(surgeLine, "%s.max_surge is not supported yet: instances keep their ports, so a replacement cannot start "+
			"before the old one stops; it is treated as 0 (reload.standby: true makes each replacement start several times faster instead)", field)
	}
	if unavailableLine > 0 && r.MaxUnavailable.Value == 0 && r.MaxSurge.Value == 0 {
		y.c.addf(unavailableLine, "%s: max_unavailable and max_surge cannot both be 0, or no instance could be replaced; "+
			"use max_unavailable: %d (the default) or more, or a max_surge", field, defaults.ReloadMaxUnavailable)
	}
	return r
}

// intOrPercent reads a count of instances (2) or a percentage ("50%").
func (y *yamlParser) intOrPercent(v *yaml.Node, field string) (IntOrPercent, bool) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		n, ok := y.integer(v, field)
		switch {
		case !ok:
			return IntOrPercent{}, false
		case n < 0:
			y.c.addf(v.Line, "%s must be 0 or more, got %d", field, n)
			return IntOrPercent{}, false
		case n > maxInstances:
			y.c.addf(v.Line, "%s must be at most %d, got %d", field, maxInstances, n)
			return IntOrPercent{}, false
		}
		return IntOrPercent{Value: n, Set: true}, true
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
		if p, ok := strings.CutSuffix(strings.TrimSpace(v.Value), "%"); ok {
			n, err := strconv.Atoi(p)
			if err == nil && n >= 0 && n <= 100 && p != "" && p[0] != '+' && p[0] != '-' {
				return IntOrPercent{Value: n, Percent: true, Set: true}, true
			}
			y.c.addf(v.Line, "%s must be a percentage from 0%% to 100%%, got %s", field, quoteShort(v.Value))
			return IntOrPercent{}, false
		}
	}
	y.c.addf(v.Line, "%s must be a number of instances like 1 or a percentage like 50%%, got %s", field, describe(v))
	return IntOrPercent{}, false
}
