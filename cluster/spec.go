package cluster

import (
	"cmp"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/signals"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/supervisor"
)

// Specs turns a manifest's planned instances into what the supervisor runs.
type Specs struct {
	Manifest *procfile.Manifest
	BasePort int      // for the ports of instances added by scaling
	Base     []string // the environment instances inherit
	// EnvFiles holds the env files' variables as they are now; nil: none.
	EnvFiles *EnvFiles
}

// Plan is the spec of every planned instance.
func (s Specs) Plan(instances []procfile.Instance) ([]supervisor.InstanceSpec, error) {
	out := make([]supervisor.InstanceSpec, 0, len(instances))
	count := map[string]int{}
	for _, inst := range instances {
		count[inst.Process.Name]++
	}
	for _, inst := range instances {
		sp, err := s.Instance(inst, count[inst.Process.Name])
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// For builds the spec of a new instance when scaling up at runtime, with the
// env files as they are now (supervisor.Config.SpecFor). Its MaxUnavailable is
// resolved against its index (the process has at least that many instances
// now); a roll sizes its waves with MaxUnavailableFor the instances it has then.
func (s Specs) For(process string, index int) (supervisor.InstanceSpec, error) {
	proc := s.Manifest.Process(process)
	if proc == nil {
		var names []string
		for _, p := range s.Manifest.Processes {
			names = append(names, p.Name)
		}
		return supervisor.InstanceSpec{}, fmt.Errorf("unknown process %q (processes: %s)", process, strings.Join(names, ", "))
	}
	port := s.Manifest.PortFor(proc, index, s.BasePort)
	if port > 65535 {
		return supervisor.InstanceSpec{}, fmt.Errorf("%s.%d would need port %d, above 65535", process, index, port)
	}
	return s.Instance(procfile.Instance{Process: proc, Index: index, Port: port, ID: process + "." + strconv.Itoa(index)}, index)
}

// Instance turns one planned instance into what the supervisor runs; n is how
// many instances its process has, against which reload.max_unavailable resolves.
func (s Specs) Instance(inst procfile.Instance, n int) (supervisor.InstanceSpec, error) {
	proc := inst.Process
	sig, err := ParseSignal(proc.StopSignal)
	if err != nil {
		return supervisor.InstanceSpec{}, fmt.Errorf("%s: process %q: %w", s.Manifest.Path, proc.Name, err)
	}
	timeout := cmp.Or(proc.StopTimeout, defaults.StopTimeout)
	restart := cmp.Or(proc.Restart, defaults.Restart)
	return supervisor.InstanceSpec{
		ID:          inst.ID,
		Process:     proc.Name,
		Index:       inst.Index,
		Port:        inst.Port,
		Command:     proc.Command,
		Dir:         s.Manifest.Dir,
		Env:         s.Env(proc),
		Restart:     restart,
		StopSignal:  sig,
		StopTimeout: timeout,
		HealthPath:  proc.Health.Path,
		Balanced:    s.Manifest.IsBalanced(proc),
		// The supervisor takes the wave size from the process's first instance
		// (see InstanceSpec.MaxUnavailable).
		MaxUnavailable: reloadWave(proc, n),
		// A percentage follows devcluster scale: resolved when a roll sizes a wave.
		MaxUnavailableFor: func(instances int) int { return reloadWave(proc, instances) },
		Standby:           proc.Reload.Standby,
		DependsOn:         proc.DependsOn,
		ReadyTCP:          proc.Ready.TCP,
		ReadyCommand:      proc.Ready.Command,
		ReadyLog:          proc.Ready.Log,
	}, nil
}

// Env layers the inherited environment, the env files and the manifest's own
// env of proc, later layers winning, as foreman does.
func (s Specs) Env(proc *procfile.Process) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range s.Base {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			set(k, v)
		}
	}
	for _, ev := range s.EnvFiles.Vars() {
		set(ev.Key, ev.Value)
	}
	keys := make([]string, 0, len(proc.Env))
	for k := range proc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set(k, proc.Env[k])
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// reloadWave is how many of a process's n instances a reload restarts at once
// after the canary: the manifest's max_unavailable, at least 1, since the
// supervisor rolls without surge (max_unavailable 0 with a surge would mean
// "start the replacement first", which it cannot do).
func reloadWave(p *procfile.Process, n int) int {
	unavailable, _ := p.Reload.Resolve(n)
	return max(unavailable, 1)
}

// ParseSignal reads a manifest's stop_signal; "" is the default.
func ParseSignal(name string) (syscall.Signal, error) {
	sig, ok := signals.Parse(cmp.Or(name, defaults.StopSignal))
	if !ok {
		return 0, fmt.Errorf("unknown stop_signal %q (use %s)", name, strings.Join(signals.Names(), ", "))
	}
	return sig, nil
}

// EnvFiles are a project's env files, the .env beside the manifest (if there
// is one) and then the -e files (which must exist), and the variables they
// hold now: up reads them again when one changes (Reload), while a scale may
// be building specs from them, hence the lock.
type EnvFiles struct {
	files []string // the manifest's .env, then the -e files, as given
	extra []string // the -e files

	mu   sync.Mutex
	vars []procfile.EnvVar
}

// ReadEnvFiles reads m's .env and the extra files, with their paths as the
// user gave them. Lines foreman and honcho would skip are skipped and come
// back as warnings.
func ReadEnvFiles(m *procfile.Manifest, extra []string) (*EnvFiles, []string, error) {
	f := &EnvFiles{files: append([]string{m.EnvFile()}, extra...), extra: extra}
	vars, warnings, err := f.read()
	if err != nil {
		return nil, warnings, err
	}
	f.vars = vars
	return f, warnings, nil
}

func (f *EnvFiles) read() ([]procfile.EnvVar, []string, error) {
	vars, warnings, err := procfile.LoadEnv(f.files[:1], true)
	if err != nil || len(f.extra) == 0 {
		return vars, warnings, err
	}
	more, moreWarnings, err := procfile.LoadEnv(f.extra, false)
	if err != nil {
		return nil, nil, err
	}
	return append(vars, more...), append(warnings, moreWarnings...), nil
}

// Vars are the variables the files hold now, in file order (nil f: none).
func (f *EnvFiles) Vars() []procfile.EnvVar {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vars
}

// Touched reports whether paths (a watcher's batch) names one of the files.
func (f *EnvFiles) Touched(paths []string) bool {
	for _, file := range f.files {
		abs, err := filepath.Abs(file)
		if err != nil {
			continue
		}
		for _, changed := range paths {
			if c, err := filepath.Abs(changed); err == nil && c == abs {
				return true
			}
		}
	}
	return false
}

// Reload reads the files again and makes them the current ones, returning the
// names whose value changed (added, removed, or another value), sorted, and
// the lines skipped. On an error (a file that cannot be read or parsed) the
// variables stay what they were.
func (f *EnvFiles) Reload() (changed, warnings []string, err error) {
	vars, warnings, err := f.read()
	if err != nil {
		return nil, warnings, err
	}
	f.mu.Lock()
	old := f.vars
	f.vars = vars
	f.mu.Unlock()
	return changedEnvNames(old, vars), warnings, nil
}

// changedEnvNames lists, sorted, the names whose last value differs between a
// and b, or that only one of them has.
func changedEnvNames(a, b []procfile.EnvVar) []string {
	last := func(vars []procfile.EnvVar) map[string]string {
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v.Key] = v.Value
		}
		return m
	}
	am, bm := last(a), last(b)
	var out []string
	for k, v := range am {
		if w, ok := bm[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
