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
	"sync"
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
	standby   bool // --standby: reload.standby for every process (up and check)
	// noGitignore (--no-gitignore): watch what .gitignore lists too; check
	// counts the directories up would watch with it.
	noGitignore bool
}

// project is a loaded manifest with its environment and formation applied: everything
// `up` and `check` need before anything is started.
type project struct {
	manifest *procfile.Manifest
	// env is what the env files hold; up reads them again when one changes
	// (reloadEnv), while a scale may be building specs from it, hence envMu.
	envMu     sync.Mutex
	env       []procfile.EnvVar
	envPaths  []string // the -e files, as loadEnv read them
	formation map[string]int
	instances []procfile.Instance
	basePort  int
	// baseSource says where basePort came from, for check and the start table:
	// "--port", ".env:3", "environment PORT" or "default".
	baseSource string
	listen     string
	strategy   string
	// warnings are what the user should read before anything starts, each
	// "FILE:LINE: …" where it has a place: .env lines skipped as foreman skips
	// them, manifest settings devcluster reads but cannot honour.
	warnings []string
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
	envVars, warnings, err := loadEnv(e, m, f.envFiles)
	if err != nil {
		return nil, err
	}
	formation, err := procfile.ParseFormation(f.formation)
	if err != nil {
		return nil, err // each message says what to write instead
	}
	// --port, then PORT from the env files or the environment, as foreman and
	// honcho take it; a process's own port: pins that process whatever the base.
	base, err := procfile.ChooseBasePort(f.basePort, envVars, environPort(e))
	if err != nil {
		return nil, err
	}
	instances, err := m.Plan(formation, base.Port)
	if err != nil {
		return nil, err
	}
	if f.listen != "" {
		if err := checkListen(f.listen); err != nil {
			return nil, err
		}
	}
	if f.standby {
		for _, p := range m.Processes {
			p.Reload.Standby = true
		}
	}
	listen := cmp.Or(f.listen, m.Proxy.Listen, defaults.Listen)
	strategy := cmp.Or(f.strategy, m.Proxy.Strategy, defaults.Strategy)
	return &project{
		manifest:   m,
		env:        envVars,
		envPaths:   extraEnvPaths(e, f.envFiles),
		formation:  formation,
		instances:  instances,
		basePort:   base.Port,
		baseSource: base.Source,
		listen:     listen,
		strategy:   strategy,
		warnings:   append(warnings, m.Warnings...),
	}, nil
}

// loadEnv reads the .env next to the manifest (if there is one) and then each
// -e file (which must exist), with their paths as the user gave them. Lines
// foreman and honcho would skip are skipped and come back as warnings.
func loadEnv(e *env, m *procfile.Manifest, extra []string) ([]procfile.EnvVar, []string, error) {
	return readEnvFiles(m, extraEnvPaths(e, extra))
}

// extraEnvPaths are the -e files as loadEnv reads them: as given, from cwd.
func extraEnvPaths(e *env, extra []string) []string {
	paths := make([]string, len(extra))
	for i, p := range extra {
		paths[i] = asGiven(e.cwd, p)
	}
	return paths
}

func readEnvFiles(m *procfile.Manifest, extra []string) ([]procfile.EnvVar, []string, error) {
	vars, warnings, err := procfile.LoadEnv([]string{m.EnvFile()}, true)
	if err != nil || len(extra) == 0 {
		return vars, warnings, err
	}
	more, moreWarnings, err := procfile.LoadEnv(extra, false)
	if err != nil {
		return nil, nil, err
	}
	return append(vars, more...), append(warnings, moreWarnings...), nil
}

// touchesEnvFiles reports whether paths (a watcher's batch) names one of the env
// files the project read.
func (p *project) touchesEnvFiles(paths []string) bool {
	files := append([]string{p.manifest.EnvFile()}, p.envPaths...)
	for _, f := range files {
		abs, err := filepath.Abs(f)
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

// reloadEnv reads the env files again and makes them the project's, returning
// the names whose value changed (added, removed, or another value), sorted,
// and the lines skipped. On an error (a file that cannot be read or parsed)
// the project keeps what it had.
func (p *project) reloadEnv() (changed, warnings []string, err error) {
	vars, warnings, err := readEnvFiles(p.manifest, p.envPaths)
	if err != nil {
		return nil, warnings, err
	}
	p.envMu.Lock()
	old := p.env
	p.env = vars
	p.envMu.Unlock()
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

// environPort is the inherited PORT as ChooseBasePort reads the environment,
// through env's getenv so that in-process tests choose their own.
func environPort(e *env) []string {
	if e.getenv == nil {
		return nil
	}
	return []string{"PORT=" + e.getenv("PORT")}
}

// reloadWave is how many of a process's n instances a reload restarts at once
// after the canary: the manifest's max_unavailable, at least 1, since the
// supervisor rolls without surge (max_unavailable 0 with a surge would mean
// "start the replacement first", which it cannot do).
func reloadWave(p *procfile.Process, n int) int {
	unavailable, _ := p.Reload.Resolve(n)
	return max(unavailable, 1)
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
	p.envMu.Lock()
	for _, ev := range p.env {
		set(ev.Key, ev.Value)
	}
	p.envMu.Unlock()
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

// spec turns one planned instance into what the supervisor runs; n is how many
// instances its process has, against which reload.max_unavailable resolves.
func (p *project) spec(baseEnv []string, inst procfile.Instance, n int) (supervisor.InstanceSpec, error) {
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
		// The supervisor takes the wave size from the process's first instance
		// (see InstanceSpec.MaxUnavailable).
		MaxUnavailable: reloadWave(proc, n),
		// A percentage follows devcluster scale: resolved when a roll sizes a wave.
		MaxUnavailableFor: func(instances int) int { return reloadWave(proc, instances) },
		Standby:           proc.Reload.Standby,
	}, nil
}

func (p *project) specs(baseEnv []string) ([]supervisor.InstanceSpec, error) {
	out := make([]supervisor.InstanceSpec, 0, len(p.instances))
	count := map[string]int{}
	for _, inst := range p.instances {
		count[inst.Process.Name]++
	}
	for _, inst := range p.instances {
		s, err := p.spec(baseEnv, inst, count[inst.Process.Name])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// specFor builds the spec of a new instance when scaling up at runtime, with the
// env files as they are now. Its MaxUnavailable is resolved against its index
// (the process has at least that many instances now); a roll sizes its waves
// with MaxUnavailableFor the instances it has then.
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
		return p.spec(baseEnv, procfile.Instance{Process: proc, Index: index, Port: port, ID: process + "." + strconv.Itoa(index)}, index)
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

// checkListen refuses a --listen that is not HOST:PORT before anything else looks
// at it: "--listen 28080" (a port alone, as -p takes one) would otherwise be
// warned about as reachable from other machines and then fail to bind with a
// hint to stop what holds it, neither of which is the problem. (procfile checks
// the manifest's proxy.listen the same way, with its line.)
func checkListen(listen string) error {
	if _, _, err := net.SplitHostPort(listen); err == nil {
		return nil
	}
	want := "HOST:PORT, e.g. 127.0.0.1:8080"
	if n, err := strconv.Atoi(listen); err == nil && n > 0 && n <= 65535 {
		want = fmt.Sprintf("a host as well as the port: 127.0.0.1:%d (or 0.0.0.0:%d to be reachable from other machines)", n, n)
	}
	return usage(fmt.Errorf("--listen %s: the address needs %s", listen, want), "devcluster up --listen 127.0.0.1:8080")
}

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
