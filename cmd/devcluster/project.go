package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/internal/defaults"
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
	// only: the processes named on up's command line (up web redis); none: all.
	only []string
}

// project is a loaded manifest with its environment and formation applied: everything
// `up` and `check` need before anything is started.
type project struct {
	manifest *procfile.Manifest
	// env is what the env files held when the project was loaded (the base
	// port was chosen from it, export writes it); envFiles holds them as they
	// are now, read again by up when one changes.
	env       []procfile.EnvVar
	envFiles  *cluster.EnvFiles
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
	// envRead are the env files read, as given: the manifest's .env when it
	// exists, then the -e files; up names them.
	envRead []string
}

// findManifest resolves -f, or looks for devcluster.yaml then Procfile in cwd and
// then in each of its parents, as ps and down find the project (and as docker
// compose finds compose.yaml), so that up in a subdirectory starts the project. The
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
	path, err := findManifestUp(cwd)
	if err != nil {
		return "", withHint(err, "echo 'web: python3 -m flask --app app run --no-reload --port $PORT' > Procfile")
	}
	if rel, err := filepath.Rel(cwd, path); err == nil {
		return asGiven(cwd, rel), nil
	}
	return path, nil
}

// findManifestUp is procfile.Find in dir, else in the nearest parent that has a
// manifest; when none has, the error is the one for dir.
func findManifestUp(dir string) (string, error) {
	path, first := procfile.Find(dir)
	if first == nil {
		return path, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", first
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		if path, err := procfile.Find(d); err == nil {
			return path, nil
		}
		if d == filepath.Dir(d) {
			return "", first
		}
	}
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
	envFiles, warnings, err := cluster.ReadEnvFiles(m, extraEnvPaths(e, f.envFiles))
	if err != nil {
		return nil, err
	}
	envVars := envFiles.Vars()
	formation, err := procfile.ParseFormation(f.formation)
	if err != nil {
		return nil, err // each message says what to write instead
	}
	if formation, err = onlyFormation(m, formation, f.only); err != nil {
		return nil, err
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
		envFiles:   envFiles,
		formation:  formation,
		instances:  instances,
		basePort:   base.Port,
		baseSource: base.Source,
		listen:     listen,
		strategy:   strategy,
		warnings:   append(warnings, m.Warnings...),
		envRead:    envFilesRead(m, extraEnvPaths(e, f.envFiles)),
	}, nil
}

// extraEnvPaths are the -e files as the user gave them, from cwd.
func extraEnvPaths(e *env, extra []string) []string {
	paths := make([]string, len(extra))
	for i, p := range extra {
		paths[i] = asGiven(e.cwd, p)
	}
	return paths
}

// environPort is the inherited PORT as ChooseBasePort reads the environment,
// through env's getenv so that in-process tests choose their own.
func environPort(e *env) []string {
	if e.getenv == nil {
		return nil
	}
	return []string{"PORT=" + e.getenv("PORT")}
}

// specs builds what the supervisor runs of every planned instance, over the
// inherited environment baseEnv.
func (p *project) specs(baseEnv []string) ([]supervisor.InstanceSpec, error) {
	return p.specBuilder(baseEnv).Plan(p.instances)
}

// specFor builds the spec of a new instance when scaling up at runtime, with the
// env files as they are now.
func (p *project) specFor(baseEnv []string) func(process string, index int) (supervisor.InstanceSpec, error) {
	return p.specBuilder(baseEnv).For
}

// mergedEnv is the environment of proc's next starts, with the env files as they
// are now.
func (p *project) mergedEnv(base []string, proc *procfile.Process) []string {
	return p.specBuilder(base).Env(proc)
}

func (p *project) specBuilder(baseEnv []string) cluster.Specs {
	return cluster.Specs{Manifest: p.manifest, BasePort: p.basePort, Base: baseEnv, EnvFiles: p.envFiles}
}

func (p *project) processNames() []string { return processNames(p.manifest) }

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
