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
	// PythonNote says why Python was chosen ("python3 on PATH cannot import
	// fastapi, uvicorn; /usr/bin/python3 can"), for a comment above the
	// command; "" writes none.
	PythonNote string
	// DevServer runs the framework's development server (flask run,
	// manage.py runserver) even when gunicorn is a dependency; for an ASGI
	// app, the ASGI server itself rather than gunicorn with its workers.
	DevServer bool
	// ASGI serves a Django project through its asgi.py with an ASGI server
	// (init --asgi) instead of runserver or gunicorn. FastAPI and Starlette
	// apps are always served so.
	ASGI bool
	// Instances of the web process; 0 → 3.
	Instances int
}

// Validate says why opts cannot serve p, or nil: --asgi for a Flask app
// (WSGI only) or for a Django project without an asgi.py.
func Validate(p *Project, opts RenderOptions) error {
	if !opts.ASGI {
		return nil
	}
	switch {
	case p.Kind == KindFlask:
		return fmt.Errorf("--asgi: the Flask app in %s is a WSGI app, which an ASGI server does not serve as it is; run \"devcluster init\" without --asgi", p.Dir)
	case p.Kind == KindDjango && p.ASGIModule == "":
		pkg := p.AppModule
		if pkg == "" {
			pkg = "the project package"
		}
		return fmt.Errorf("--asgi: no asgi.py in %s (Django 3.0 and later write one with startproject); add it, or run \"devcluster init\" without --asgi", pkg)
	}
	return nil
}

// servesASGI reports whether the command serves p with an ASGI server.
func servesASGI(p *Project, opts RenderOptions) bool {
	return IsASGI(p.Kind) || p.Kind == KindDjango && opts.ASGI && p.ASGIModule != ""
}

// asgiServer is the ASGI server for p: the one it lists, else uvicorn.
func asgiServer(p *Project) string {
	if p.ASGIServer != "" {
		return p.ASGIServer
	}
	return ServerUvicorn
}

// gunicornServes reports whether gunicorn runs the app: it is a dependency
// and no development server was asked for; an ASGI app only through
// uvicorn's worker class, so not when the project lists another ASGI server.
func gunicornServes(p *Project, opts RenderOptions) bool {
	if !p.Gunicorn || opts.DevServer {
		return false
	}
	return !servesASGI(p, opts) || asgiServer(p) == ServerUvicorn
}

// Modules lists what the command's interpreter must import, for the caller
// to find an interpreter that can ("flask"; "fastapi", "uvicorn"). A command
// that runs gunicorn names no interpreter (gunicorn's #! line does): the
// framework alone is listed, as before gunicorn was considered.
func Modules(p *Project, opts RenderOptions) []string {
	var mods []string
	switch p.Kind {
	case KindFlask, KindDjango, KindFastAPI, KindStarlette:
		mods = append(mods, p.Kind)
	}
	if servesASGI(p, opts) && !gunicornServes(p, opts) {
		mods = append(mods, asgiServer(p))
	}
	return mods
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
	if gunicornServes(p, opts) {
		gunicorn := p.GunicornCommand
		if gunicorn == "" || opts.Python != "" {
			// An interpreter chosen by the caller means the gunicorn on PATH.
			gunicorn = "gunicorn"
		}
		if servesASGI(p, opts) {
			return gunicorn + " -k uvicorn.workers.UvicornWorker -b 127.0.0.1:$PORT " + shellQuote(asgiTarget(p))
		}
		return gunicorn + " -b 127.0.0.1:$PORT " + gunicornTarget(p)
	}
	if servesASGI(p, opts) {
		return asgiCommand(python, asgiServer(p), p)
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

// asgiCommand runs p's ASGI app with server as a module of python ("python3
// -m uvicorn"), which names the interpreter in the command: Debian installs
// no uvicorn script, and the one on PATH may belong to another Python.
// Bound to loopback, one process (no --workers), no reloader.
func asgiCommand(python, server string, p *Project) string {
	target := asgiTarget(p)
	factory := strings.HasSuffix(target, "()")
	switch server {
	case ServerHypercorn:
		return python + " -m hypercorn --bind 127.0.0.1:$PORT " + shellQuote(target) // hypercorn calls a "f()" target itself
	case ServerDaphne:
		if !factory {
			return python + " -m daphne -b 127.0.0.1 -p $PORT " + shellQuote(target)
		}
		// daphne has no factories; uvicorn has
	}
	if factory {
		return python + " -m uvicorn --factory " + shellQuote(strings.TrimSuffix(target, "()")) + " --host 127.0.0.1 --port $PORT"
	}
	return python + " -m uvicorn " + shellQuote(target) + " --host 127.0.0.1 --port $PORT"
}

// asgiTarget is the ASGI application the server loads, as MODULE:OBJECT;
// OBJECT ends in "()" for a factory.
func asgiTarget(p *Project) string {
	if p.Kind == KindDjango {
		return p.ASGIModule + ":application" // as Django's asgi.py names it
	}
	obj := p.AppObject
	if obj == "" {
		obj = "app"
	}
	return p.AppModule + ":" + obj
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

	what := map[string]string{KindFlask: "a Flask app", KindDjango: "a Django project",
		KindFastAPI: "a FastAPI app", KindStarlette: "a Starlette app"}[p.Kind]
	if p.Kind == KindDjango && servesASGI(p, opts) {
		what = "a Django project, served through its asgi.py"
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
	if opts.PythonNote != "" && !gunicornServes(p, opts) {
		w("    # Interpreter: %s.", opts.PythonNote)
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
	if servesASGI(p, opts) && !gunicornServes(p, opts) {
		w("    # process warm, with Python started and %s imported (not the app),", asgiServer(p))
		w("    # for one more idle process per instance. Set it to false to start")
		w("    # instances cold.")
	} else {
		w("    # process warm, with Python started and the libraries imported (not the")
		w("    # app), so a start takes ~0.04 s instead of ~0.25 s, for one more idle")
		w("    # process per instance. Set it to false to start instances cold.")
	}
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
	case gunicornServes(p, opts) && servesASGI(p, opts):
		lines = append(lines,
			"gunicorn is a dependency of the project, so it serves the ASGI app with",
			"uvicorn's worker class, bound to 127.0.0.1. Never add --reload:",
			"devcluster restarts instances on changes.")
	case gunicornServes(p, opts):
		lines = append(lines,
			"gunicorn is a dependency of the project, so it serves the app, bound to",
			"127.0.0.1. Never add --reload: devcluster restarts instances on changes.")
	case servesASGI(p, opts):
		server := asgiServer(p)
		lines = append(lines, server+" serves the ASGI app, bound to 127.0.0.1, as a module of the")
		lines = append(lines, "interpreter, so the command says which Python runs it.")
		if server != ServerDaphne {
			lines = append(lines,
				"Never add --reload: "+server+"'s reloader is a process of its own that keeps",
				"the port; devcluster restarts instances on file changes itself.")
		}
		lines = append(lines,
			"No --workers either: each instance is one process on its own port, so",
			"that the proxy balances them and shows which one answered.")
		if p.Kind == KindDjango {
			lines = append(lines, "Unlike runserver, an ASGI server serves no static files: see Django's",
				"\"How to deploy static files\" (or add whitenoise).")
		}
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
