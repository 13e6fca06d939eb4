package procfile

import (
	"fmt"
	"path"
	"strings"
)

// ReloaderWarnings returns one message per process whose command turns on a
// framework's own reloader. Such a reloader forks a child that holds the
// port, survives the stop of its parent and races devcluster's own restarts
// on file changes; each message names the process and the flag to use.
func ReloaderWarnings(m *Manifest) []string {
	var out []string
	for _, p := range m.Processes {
		if msg := reloaderWarning(p); msg != "" {
			out = append(out, fmt.Sprintf("process %q: %s", p.Name, msg))
		}
	}
	return out
}

func reloaderWarning(p *Process) string {
	words := strings.Fields(p.Command)
	has := func(flags ...string) bool {
		for _, w := range words {
			for _, f := range flags {
				if w == f || strings.HasPrefix(w, f+"=") {
					return true
				}
			}
		}
		return false
	}
	const why = "devcluster restarts instances on file changes itself"
	switch {
	case runs(words, "flask") && contains(words, "run"):
		switch {
		case has("--no-reload"):
			return ""
		case has("--reload"):
			return "flask run --reload starts Flask's reloader, whose child keeps the port; replace --reload with --no-reload (" + why + ")"
		case has("--debug") || debugEnv(p, words):
			return "flask run in debug mode starts Flask's reloader, whose child keeps the port; add --no-reload (" + why + ")"
		}
	case runs(words, "manage.py") && contains(words, "runserver"):
		if !has("--noreload") {
			return "manage.py runserver starts Django's autoreloader, whose child keeps the port; add --noreload (" + why + ")"
		}
	case runs(words, "gunicorn") && has("--reload"):
		return "gunicorn --reload restarts workers on its own; remove --reload (" + why + ")"
	case runs(words, "uvicorn") && has("--reload"):
		return "uvicorn --reload starts a reloader process that keeps the port; remove --reload (" + why + ")"
	}
	return asgiReloaderWarning(words, has, why)
}

// asgiReloaderWarning is reloaderWarning for the ASGI servers and the framework
// CLIs beside uvicorn: hypercorn, granian, sanic, litestar and fastapi (daphne
// has no reloader of its own; Channels' is runserver's). Each reloader keeps the
// port in a parent process while it restarts the server under it.
func asgiReloaderWarning(words []string, has func(...string) bool, why string) string {
	switch {
	case runs(words, "hypercorn") && has("--reload"):
		return "hypercorn --reload restarts its workers on its own while it keeps the port; remove --reload (" + why + ")"
	case runs(words, "granian") && has("--reload"):
		return "granian --reload starts a reloader process that keeps the port; remove --reload (" + why + ")"
	case runs(words, "sanic") && has("--reload", "--auto-reload", "-r", "--dev", "-d"):
		return "sanic --dev and --reload start Sanic's reloader, whose process keeps the port; remove them (" + why + ")"
	case runs(words, "litestar") && contains(words, "run") && has("--reload", "-r"):
		return "litestar run --reload starts uvicorn's reloader, which keeps the port; remove --reload (" + why + ")"
	case runs(words, "fastapi") && contains(words, "dev") && !has("--no-reload"):
		return "fastapi dev starts uvicorn's reloader, which keeps the port; add --no-reload, or use fastapi run (" + why + ")"
	case runs(words, "fastapi") && contains(words, "run") && has("--reload"):
		return "fastapi run --reload starts uvicorn's reloader, which keeps the port; remove --reload (" + why + ")"
	}
	return ""
}

// runs reports whether the command runs program, as a word of its own
// (flask, /venv/bin/flask) or as a module (python3 -m flask).
func runs(words []string, program string) bool {
	for i, w := range words {
		if path.Base(w) == program {
			return true
		}
		if w == "-m" && i+1 < len(words) && words[i+1] == program {
			return true
		}
	}
	return false
}

// debugEnv reports whether FLASK_DEBUG (or the older FLASK_ENV=development)
// turns debug mode on, in the manifest env or inline in the command.
func debugEnv(p *Process, words []string) bool {
	on := func(key, v string) bool {
		if key == "FLASK_ENV" {
			return v == "development"
		}
		v = strings.ToLower(strings.Trim(v, `"'`))
		return v != "" && v != "0" && v != "false" && v != "no"
	}
	for _, key := range []string{"FLASK_DEBUG", "FLASK_ENV"} {
		if v, ok := p.Env[key]; ok && on(key, v) {
			return true
		}
		for _, w := range words {
			if v, ok := strings.CutPrefix(w, key+"="); ok && on(key, v) {
				return true
			}
		}
	}
	return false
}
