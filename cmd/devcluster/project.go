package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/signals"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/supervisor"
)

// manifestFlags are the flags every command that reads the manifest shares.
type manifestFlags struct {
	file      string
	envFiles  []string
	formation string
	basePort  int
	listen    string
	strategy  string
}

// project is a loaded manifest with its environment and formation applied: everything
// `up` and `check` need before anything is started.
type project struct {
	manifest  *procfile.Manifest
	env       []procfile.EnvVar
	formation map[string]int
	instances []procfile.Instance
	basePort  int
	listen    string
	strategy  string
}

// findManifest resolves -f, or looks for devcluster.yaml then Procfile in cwd. The
// path it returns is the one errors show: as the user gave it, or the found file's
// name relative to cwd ("Procfile:3: …", never an absolute path nobody typed).
func findManifest(cwd, file string) (string, error) {
	if file != "" {
		path := asGiven(cwd, file)
		if fi, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", withHint(fmt.Errorf("manifest %s: no such file", path), "pass an existing Procfile or devcluster.yaml with -f, or run \"devcluster init\"")
			}
			return "", fmt.Errorf("manifest %s: %w", path, err)
		} else if fi.IsDir() {
			return "", withHint(fmt.Errorf("manifest %s is a directory", path), "pass the Procfile or devcluster.yaml inside it with -f")
		}
		return path, nil
	}
	path, err := procfile.Find(cwd)
	if err != nil {
		return "", withHint(err, "echo 'web: python3 -m flask --app app run --no-reload --port $PORT' > Procfile")
	}
	if rel, err := filepath.Rel(cwd, path); err == nil {
		return asGiven(cwd, rel), nil
	}
	return path, nil
}

// asGiven returns path as it can be opened and shown: relative paths stay relative
// when cwd is the process's working directory (always, except in tests that run
// commands in another directory), and are joined to cwd otherwise.
func asGiven(cwd, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	if wd, err := os.Getwd(); err == nil && wd == cwd {
		return path
	}
	return filepath.Join(cwd, path)
}

func loadProject(e *env, f *manifestFlags) (*project, error) {
	path, err := findManifest(e.cwd, f.file)
	if err != nil {
		return nil, err
	}
	m, err := procfile.Load(path)
	if err != nil {
		return nil, err
	}
	envVars, err := procfile.LoadEnvFiles([]string{m.EnvFile()}, true)
	if err != nil {
		return nil, err
	}
	if len(f.envFiles) > 0 {
		paths := make([]string, len(f.envFiles))
		for i, p := range f.envFiles {
			paths[i] = asGiven(e.cwd, p)
		}
		more, err := procfile.LoadEnvFiles(paths, false)
		if err != nil {
			return nil, err
		}
		envVars = append(envVars, more...)
	}
	formation, err := procfile.ParseFormation(f.formation)
	if err != nil {
		return nil, err // each message says what to write instead
	}
	base := f.basePort
	if base == 0 {
		base = defaults.BasePort
	}
	instances, err := m.Plan(formation, base)
	if err != nil {
		return nil, err
	}
	listen := cmp.Or(f.listen, m.Proxy.Listen, defaults.Listen)
	strategy := cmp.Or(f.strategy, m.Proxy.Strategy, defaults.Strategy)
	return &project{
		manifest:  m,
		env:       envVars,
		formation: formation,
		instances: instances,
		basePort:  base,
		listen:    listen,
		strategy:  strategy,
	}, nil
}

// mergedEnv layers the inherited environment, the .env files and the manifest's own env,
// later layers winning, as foreman does.
func (p *project) mergedEnv(base []string, proc *procfile.Process) []string {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			set(k, v)
		}
	}
	for _, ev := range p.env {
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

func (p *project) process(name string) *procfile.Process {
	for _, proc := range p.manifest.Processes {
		if proc.Name == name {
			return proc
		}
	}
	return nil
}

// spec turns one planned instance into what the supervisor runs.
func (p *project) spec(baseEnv []string, inst procfile.Instance) (supervisor.InstanceSpec, error) {
	proc := inst.Process
	sig, err := parseSignal(proc.StopSignal)
	if err != nil {
		return supervisor.InstanceSpec{}, fmt.Errorf("%s: process %q: %w", p.manifest.Path, proc.Name, err)
	}
	timeout := cmp.Or(proc.StopTimeout, defaults.StopTimeout)
	restart := cmp.Or(proc.Restart, defaults.Restart)
	return supervisor.InstanceSpec{
		ID:          inst.ID,
		Process:     proc.Name,
		Index:       inst.Index,
		Port:        inst.Port,
		Command:     proc.Command,
		Dir:         p.manifest.Dir,
		Env:         p.mergedEnv(baseEnv, proc),
		Restart:     restart,
		StopSignal:  sig,
		StopTimeout: timeout,
		HealthPath:  proc.Health.Path,
		Balanced:    p.manifest.IsBalanced(proc),
	}, nil
}

func (p *project) specs(baseEnv []string) ([]supervisor.InstanceSpec, error) {
	out := make([]supervisor.InstanceSpec, 0, len(p.instances))
	for _, inst := range p.instances {
		s, err := p.spec(baseEnv, inst)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// specFor builds the spec of a new instance when scaling up at runtime.
func (p *project) specFor(baseEnv []string) func(process string, index int) (supervisor.InstanceSpec, error) {
	return func(process string, index int) (supervisor.InstanceSpec, error) {
		proc := p.process(process)
		if proc == nil {
			return supervisor.InstanceSpec{}, fmt.Errorf("unknown process %q (processes: %s)", process, strings.Join(p.processNames(), ", "))
		}
		port := p.manifest.PortFor(proc, index, p.basePort)
		if port > 65535 {
			return supervisor.InstanceSpec{}, fmt.Errorf("%s.%d would need port %d, above 65535", process, index, port)
		}
		return p.spec(baseEnv, procfile.Instance{Process: proc, Index: index, Port: port, ID: process + "." + strconv.Itoa(index)})
	}
}

func (p *project) processNames() []string {
	names := make([]string, len(p.manifest.Processes))
	for i, proc := range p.manifest.Processes {
		names[i] = proc.Name
	}
	return names
}

// parseSignal reads a manifest's stop_signal; "" is the default.
func parseSignal(name string) (syscall.Signal, error) {
	sig, ok := signals.Parse(cmp.Or(name, defaults.StopSignal))
	if !ok {
		return 0, fmt.Errorf("unknown stop_signal %q (use %s)", name, strings.Join(signals.Names(), ", "))
	}
	return sig, nil
}

// listenClash returns the instance whose port the proxy's listen address takes, if
// any: up would bind the proxy first and that instance could never start.
func (p *project) listenClash() (id string, port int, clash bool) {
	_, portStr, err := net.SplitHostPort(p.listen)
	if err != nil {
		return "", 0, false
	}
	port, _ = strconv.Atoi(portStr)
	for _, in := range p.instances {
		if in.Port == port && port > 0 {
			return in.ID, port, true
		}
	}
	return "", 0, false
}

// listenClashError says which instance port the proxy's address takes.
func (p *project) listenClashError() error {
	id, port, clash := p.listenClash()
	if !clash {
		return nil
	}
	return fmt.Errorf("proxy %s: port %d is also %s's port; give --listen (or proxy.listen) a port outside the instance ports", p.listen, port, id)
}

// manifestName is the manifest's path as the user gave it, for hints.
func (p *project) manifestName() string { return p.manifest.Path }

// isLoopbackListen reports whether addr binds only to a loopback address.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
