package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// RenderOptions are the caller's choices that Detect cannot make without
// running anything.
type RenderOptions struct {
	// Python is the interpreter for the command ("python3",
	// "/usr/bin/python3"); "" → the project's virtualenv if Detect found
	// one, else "python3". The caller may probe which one imports the framework.
	Python string
	// DevServer runs the framework's development server (flask run,
	// manage.py runserver) even when gunicorn is a dependency.
	DevServer bool
	// Instances of the web process; 0 → 3.
	Instances int
}

// Command returns the command that serves p on $PORT, bound to loopback,
// without any framework reloader (devcluster restarts on changes itself).
func Command(p *Project, opts RenderOptions) string {
	python := opts.Python
	if python == "" {
		python = p.Python
	}
	if python == "" {
		python = "python3"
	}
	if p.Gunicorn && !opts.DevServer {
		gunicorn := p.GunicornCommand
		if gunicorn == "" || opts.Python != "" {
			// An interpreter chosen by the caller means the gunicorn on PATH.
			gunicorn = "gunicorn"
		}
		return gunicorn + " -b 127.0.0.1:$PORT " + gunicornTarget(p)
	}
	if p.Kind == KindDjango {
		return python + " manage.py runserver --noreload 127.0.0.1:$PORT"
	}
	app := p.AppModule
	if p.AppObject != "" && p.AppObject != "app" && p.AppObject != "application" {
		app += ":" + p.AppObject // Flask finds only app and application by itself
	}
	return python + " -m flask --app " + shellQuote(app) + " run --no-reload --host 127.0.0.1 --port $PORT"
}

// gunicornTarget is the WSGI application gunicorn should load.
func gunicornTarget(p *Project) string {
	if p.Kind == KindDjango {
		if p.WSGIModule != "" {
			return p.WSGIModule // gunicorn looks for "application" in it, as Django writes it
		}
		return p.AppModule + ".wsgi"
	}
	obj := p.AppObject
	if obj == "" {
		obj = "app"
	}
	return shellQuote(p.AppModule + ":" + obj)
}

// shellQuote quotes s for sh when it holds anything but safe characters
// ("create_app()" does).
func shellQuote(s string) string {
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.:/-=", c)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Render writes a commented devcluster.yaml for p. It parses with
// procfile.ParseYAML.
func Render(p *Project, opts RenderOptions) []byte {
	instances := opts.Instances
	if instances <= 0 {
		instances = 3
	}
	health := p.HealthPath
	if health == "" {
		health = "/"
	}
	command := Command(p, opts)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	what := "a Flask app"
	if p.Kind == KindDjango {
		what = "a Django project"
	}
	w("# devcluster.yaml, written by \"devcluster init\" for %s.", what)
	for _, f := range p.Found {
		w("#   found: %s", f)
	}
	w("#")
	w("# Start the cluster with \"devcluster up\", then open http://127.0.0.1:8080.")
	w("# Check this file without starting anything with \"devcluster check\".")
	w("")
	w("# The balancer in front of the instances.")
	w("proxy:")
	w("  # Address the proxy listens on. Keep it on 127.0.0.1 unless you mean to")
	w("  # expose the cluster to your network.")
	w("  listen: 127.0.0.1:8080")
	w("  # How requests are spread: roundrobin (each instance in turn), leastconn,")
	w("  # random, source (by client address), uri (by path) or first.")
	w("  strategy: roundrobin")
	w("  # Uncomment to keep each browser on one instance with a cookie:")
	w("  # sticky: cookie")
	w("")
	w("processes:")
	w("  # The process named \"web\" is the one the proxy balances.")
	w("  web:")
	for _, line := range commandComment(p, opts) {
		w("    # %s", line)
	}
	w("    command: %s", yamlScalar(command))
	w("    # How many copies to run, on consecutive ports from 5000 (5000, 5001, ...).")
	w("    # Override for one run with: devcluster up -m web=5")
	w("    instances: %d", instances)
	w("    # An instance joins the proxy's rotation once GET on this path answers")
	w("    # 2xx or 3xx; it leaves it when the check fails.")
	if p.HealthPath == "/" || p.HealthPath == "" {
		w("    # No health route was found in the source: \"/\" is a guess. Point it to a")
		w("    # cheap page that answers 200, or remove the line to check only that the")
		w("    # port accepts connections.")
	}
	w("    health: %s", yamlScalar(health))
	w("    # What to do when an instance exits: always (default), on-failure, never.")
	w("    restart: always")
	w("    # On stop: this signal to the instance's process group, then SIGKILL if it")
	w("    # is still running after stop_timeout.")
	w("    stop_signal: TERM")
	w("    stop_timeout: 5s")
	w("    # Variables set for every instance, besides PORT, PS=web.N and .env:")
	w("    env:")
	if p.Kind == KindDjango && p.SettingsModule != "" {
		w("      DJANGO_SETTINGS_MODULE: %s", yamlScalar(p.SettingsModule))
	}
	w("      PYTHONDONTWRITEBYTECODE: \"1\"")
	w("    # How a file change replaces the instances: the first alone (the canary),")
	w("    # then max_unavailable at a time. standby keeps each instance's next")
	w("    # process warm, with Python started and the libraries imported (not the")
	w("    # app), so a start takes ~0.04 s instead of ~0.25 s, for one more idle")
	w("    # process per instance. Set it to false to start instances cold.")
	w("    reload: {max_unavailable: 1, standby: true}")
	w("    # Which file changes restart the instances, one at a time. Uncomment to")
	w("    # narrow it down; by default the project directory is watched.")
	w("    # watch:")
	w("    #   paths: [.]")
	w("    #   include: [\"*.py\", \"templates/*\"]")
	w("    #   exclude: [\"migrations/*\"]")
	return b.Bytes()
}

// commandComment explains the chosen command in a few lines.
func commandComment(p *Project, opts RenderOptions) []string {
	lines := []string{"$PORT is set for each instance."}
	switch {
	case p.Gunicorn && !opts.DevServer:
		lines = append(lines,
			"gunicorn is a dependency of the project, so it serves the app, bound to",
			"127.0.0.1. Never add --reload: devcluster restarts instances on changes.")
	case p.Kind == KindDjango:
		lines = append(lines,
			"--noreload: devcluster restarts instances on file changes itself; Django's",
			"autoreloader would fork a child that keeps the port after a stop.")
	default:
		lines = append(lines,
			"--no-reload: devcluster restarts instances on file changes itself; Flask's",
			"reloader would fork a child that keeps the port after a stop.",
			"\"python3 -m flask\" needs no flask script on PATH.")
	}
	return lines
}

// yamlScalar renders s as a YAML scalar, quoted only when it must be.
func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil { // a string always marshals; be safe anyway
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// Write writes content to dir/devcluster.yaml. It refuses to replace an
// existing devcluster.yaml (or devcluster.yml, which the new file would
// shadow) unless force is set. The file is written to a temporary name and
// renamed, so an interrupted write never leaves half a manifest.
func Write(dir string, content []byte, force bool) (string, error) {
	target := filepath.Join(dir, "devcluster.yaml")
	if !force {
		for _, name := range []string{"devcluster.yaml", "devcluster.yml"} {
			_, err := os.Lstat(filepath.Join(dir, name))
			if err == nil {
				return "", fmt.Errorf("%s already exists in %s; use --force to overwrite it", name, dir)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("write devcluster.yaml: %w", err)
			}
		}
	}
	tmp, err := os.CreateTemp(dir, ".devcluster.yaml.*")
	if err != nil {
		return "", fmt.Errorf("write devcluster.yaml: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write devcluster.yaml: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write devcluster.yaml: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write devcluster.yaml: %w", err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return "", fmt.Errorf("write devcluster.yaml: %w", err)
	}
	return target, nil
}
