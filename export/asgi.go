package export

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ASGI servers (issue 22): a command that serves an ASGI app with uvicorn,
// hypercorn, daphne, or gunicorn with uvicorn's worker, gets with
// --dockerfile a Dockerfile that serves the same app with the same server,
// bound to every address of the container on $PORT, without the command's
// own --host, --reload or --workers (one process per container: replicas
// scale it). The framework (FastAPI, Starlette, Django's asgi.py) is only
// installed, never guessed into the command.

// asgiServer names the ASGI server p's command runs: "uvicorn",
// "hypercorn", "daphne", "gunicorn-uvicorn" for gunicorn -k
// uvicorn.workers.UvicornWorker, or "" (a WSGI gunicorn included).
func asgiServer(p *Process) string {
	words := strings.Fields(p.Command)
	for _, w := range words {
		switch base := path.Base(w); {
		case base == "gunicorn":
			if gunicornWorker(words) == "uvicorn.workers.UvicornWorker" {
				return "gunicorn-uvicorn"
			}
			return ""
		case base == "uvicorn", base == "hypercorn", base == "daphne":
			return base
		}
	}
	return ""
}

// gunicornWorker is gunicorn's -k/--worker-class, or "".
func gunicornWorker(words []string) string {
	for i, w := range words {
		if (w == "-k" || w == "--worker-class") && i+1 < len(words) {
			return strings.Trim(words[i+1], `'"`)
		}
		if v, ok := strings.CutPrefix(w, "--worker-class="); ok {
			return strings.Trim(v, `'"`)
		}
	}
	return ""
}

// detectASGI finds the app module of an ASGI server's command (its one
// MODULE:ATTR argument), the directory it is imported from (uvicorn's
// --app-dir, gunicorn's --chdir) and the framework to install.
func detectASGI(dir string, p *Process, server string) (*pyApp, error) {
	words := strings.Fields(p.Command)
	a := &pyApp{Kind: "asgi", Server: server}
	for i, w := range words {
		w = strings.Trim(w, `'"`)
		if (words[i] == "--app-dir" || words[i] == "--chdir") && i+1 < len(words) {
			a.Chdir = path.Clean(strings.Trim(words[i+1], `'"`))
		}
		if i > 0 && strings.HasPrefix(words[i-1], "-") && !strings.Contains(words[i-1], "=") && words[i-1] != "-m" && !isFlagWithoutValue(words[i-1]) {
			continue // the value of an option
		}
		if strings.Contains(w, ":") && moduleRE.MatchString(w) {
			a.Module = w
		}
	}
	if a.Module == "" {
		return nil, fmt.Errorf("--dockerfile: no MODULE:APP in %s's command (%s) for %s to serve", p.Name, p.Command, server)
	}
	a.Framework = asgiFramework(dir, a)
	if a.Framework == "django" {
		if d, err := detectApp(dir, &Process{Command: "manage.py runserver"}); err == nil {
			a.Env = d.Env
		}
	}
	return a, nil
}

// isFlagWithoutValue names the flags of the four servers that take no value,
// so that the word after one is read as the app.
func isFlagWithoutValue(flag string) bool {
	switch flag {
	case "--reload", "--proxy-headers", "--no-proxy-headers", "--access-log", "--no-access-log", "--use-colors", "--no-use-colors",
		"--factory", "--preload", "--debug", "--verbose", "-v", "--no-server-header", "--no-date-header", "--server-header", "--date-header":
		return true
	}
	return false
}

// asgiFramework reads the app's module for the framework it imports:
// "fastapi", "starlette", "django" (an asgi.py of Django's), or "" (a bare
// ASGI callable, which needs only the server).
func asgiFramework(dir string, a *pyApp) string {
	mod, _, _ := strings.Cut(a.Module, ":")
	file := filepath.Join(dir, filepath.FromSlash(firstNonEmpty(a.Chdir, ".")), filepath.FromSlash(strings.ReplaceAll(mod, ".", "/"))+".py")
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	src := string(data)
	for _, fw := range []string{"fastapi", "starlette", "django"} {
		if strings.Contains(src, "from "+fw) || strings.Contains(src, "import "+fw) {
			return fw
		}
	}
	return ""
}

// asgiCommand is the shell command that serves the app with its server on
// every address of the container. The balancer in front is the one peer that
// reaches it, so its forwarding headers are trusted (--forwarded-allow-ips:
// behind HTTPS at the balancer the app then builds https:// URLs).
func (a *pyApp) asgiCommand() (string, error) {
	if !moduleRE.MatchString(a.Module) {
		return "", fmt.Errorf("--dockerfile: %q is not a Python module:app the ASGI server can load", a.Module)
	}
	chdir, err := a.chdirArg()
	if err != nil {
		return "", err
	}
	cd := ""
	if chdir != "" {
		cd = "cd " + a.Chdir + " && "
	}
	switch a.Server {
	case "uvicorn":
		return fmt.Sprintf("exec python3 -m uvicorn --host 0.0.0.0 --port $PORT --forwarded-allow-ips '*'%s '%s'", strings.Replace(chdir, "--chdir", "--app-dir", 1), a.Module), nil
	case "hypercorn":
		return fmt.Sprintf("%sexec python3 -m hypercorn --bind 0.0.0.0:$PORT --access-logfile - '%s'", cd, a.Module), nil
	case "daphne":
		return fmt.Sprintf("%sexec python3 -m daphne -b 0.0.0.0 -p $PORT --proxy-headers '%s'", cd, a.Module), nil
	case "gunicorn-uvicorn":
		return fmt.Sprintf("exec python3 -m gunicorn -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:$PORT --workers 2 --forwarded-allow-ips '*' --access-logfile -%s '%s'", chdir, a.Module), nil
	}
	return "", fmt.Errorf("--dockerfile: unknown ASGI server %q", a.Server)
}

// asgiImports are the modules the image must import: the server's, then the
// framework's (pip's distribution names are the same).
func (a *pyApp) asgiImports() []string {
	var mods []string
	switch a.Server {
	case "gunicorn-uvicorn":
		mods = []string{"gunicorn", "uvicorn"}
	default:
		mods = []string{a.Server}
	}
	if a.Framework != "" {
		mods = append(mods, a.Framework)
	}
	return mods
}
