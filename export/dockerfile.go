package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// pyApp is what a Dockerfile needs to serve a Python web app with gunicorn.
type pyApp struct {
	Kind   string // "flask", "django", "gunicorn", or "asgi" (asgi.go)
	Chdir  string // directory of the app module, relative to the manifest's
	Module string // gunicorn's APP_MODULE: "app:app", "demo.wsgi:application"
	Env    []EnvPair

	Server    string // asgi: "uvicorn", "hypercorn", "daphne" or "gunicorn-uvicorn"
	Framework string // asgi: "fastapi", "starlette", "django" or "" (a bare ASGI app)
}

var (
	flaskAppRE  = regexp.MustCompile(`--app[ =]([A-Za-z0-9_./-]+)`)
	djangoSetRE = regexp.MustCompile(`DJANGO_SETTINGS_MODULE["']?\s*,\s*["']([A-Za-z0-9_.]+)["']`)
	moduleRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*(\(\))?)?$`)
)

// detectApp finds the app of p's command, or of the manifest's directory:
// gunicorn's own APP_MODULE, flask's --app, then manage.py or app.py.
func detectApp(dir string, p *Process) (*pyApp, error) {
	words := strings.Fields(p.Command)
	if slicesHas(words, "gunicorn") || strings.Contains(p.Command, "gunicorn ") {
		a := &pyApp{Kind: "gunicorn"}
		for i, w := range words {
			if w == "--chdir" && i+1 < len(words) {
				a.Chdir = path.Clean(words[i+1])
			}
		}
		if last := words[len(words)-1]; moduleRE.MatchString(last) {
			a.Module = last
			return a, nil
		}
	}
	if m := flaskAppRE.FindStringSubmatch(p.Command); m != nil {
		mod := strings.TrimSuffix(m[1], ".py")
		chdir, name := path.Split(mod)
		return &pyApp{Kind: "flask", Chdir: path.Clean(chdir), Module: name + ":app"}, nil
	}
	if data, err := os.ReadFile(filepath.Join(dir, "manage.py")); err == nil {
		a := &pyApp{Kind: "django", Module: "django.core.wsgi:get_wsgi_application()"}
		if m := djangoSetRE.FindSubmatch(data); m != nil {
			settings := string(m[1])
			a.Env = []EnvPair{{"DJANGO_SETTINGS_MODULE", settings}}
			pkg := strings.TrimSuffix(settings, ".settings")
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(pkg, ".", "/")), "wsgi.py")); err == nil {
				a.Module = pkg + ".wsgi:application"
			}
		}
		return a, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "app.py")); err == nil {
		return &pyApp{Kind: "flask", Chdir: ".", Module: "app:app"}, nil
	}
	return nil, fmt.Errorf("--dockerfile: no Flask, Django or gunicorn app found for %s (looked for gunicorn APP_MODULE, flask --app, manage.py, app.py in %s)", p.Name, dir)
}

// DefaultBaseImage is the Dockerfile's FROM without --base-image: a public
// Python image, whose pip installs what the app needs from PyPI.
const DefaultBaseImage = "python:3.12-slim"

// dockerfile writes a Dockerfile serving the app with gunicorn, the usual
// production server. It installs only what the base image cannot import
// already (requirements.txt's distributions when there is one, else gunicorn
// and the framework), so that the same file works with a public base and
// PyPI, or with a prepared base (scripts/base-image.sh) and no network.
func (c *Cluster) dockerfile(p *Process, a *pyApp) (string, error) {
	cmd, err := a.command()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(c.header("#"))
	base := firstNonEmpty(c.opts.BaseImage, DefaultBaseImage)
	if err := noControl("Dockerfile", base); err != nil || strings.ContainsAny(base, " \t") || base == "" {
		return "", fmt.Errorf("--base-image %q is not an image name like %s", base, DefaultBaseImage)
	}
	fmt.Fprintf(&b, "FROM %s\nWORKDIR /app\n", base)
	server, all := a.imports()
	// The dependencies come before the app's code, so that a change to the code
	// rebuilds one layer and reinstalls nothing.
	if has, err := fileExists(filepath.Join(c.Dir, "requirements.txt")); err != nil {
		return "", err
	} else if has {
		b.WriteString(`COPY requirements.txt ./
# Installs only what the base cannot import already (a requirement counts as there when
# its distribution is installed, whatever its version).
RUN python3 -c 'import re, importlib.metadata as m; [m.version(re.split(r"[^A-Za-z0-9._-]", l.strip())[0]) for l in open("requirements.txt") if l.strip() and l.strip()[0] not in "#-"]; import ` + strings.Join(server, ", ") + `' 2>/dev/null \
    || python3 -m pip install --no-cache-dir -r requirements.txt ` + strings.Join(server, " ") + `
`)
	} else {
		fmt.Fprintf(&b, `# Installs only what the base cannot import already.
RUN python3 -c 'import %s' 2>/dev/null || python3 -m pip install --no-cache-dir %s
`, strings.Join(all, ", "), strings.Join(all, " "))
	}
	fmt.Fprintf(&b, "ENV PYTHONUNBUFFERED=1 PORT=%d", p.Port)
	for _, e := range a.Env {
		fmt.Fprintf(&b, " %s=%s", e.Key, e.Value) // detected module names: [A-Za-z0-9_.]
	}
	fmt.Fprintf(&b, "\nEXPOSE %d\nCOPY . .\n", p.Port)
	argv, _ := json.Marshal([]string{"/bin/sh", "-c", psFromHostname + cmd})
	fmt.Fprintf(&b, "CMD %s\n", argv)
	return b.String(), nil
}

// psFromHostname names a container as devcluster names an instance (PS) when
// the engine does not: compose's replicas are told apart by their host name.
const psFromHostname = `export PS="${PS:-$(hostname)}"; `

// imports are the modules the image must import to serve the app: the
// server's, and with them the framework's (pip's names are the same).
func (a *pyApp) imports() (server, all []string) {
	if a.Kind == "asgi" {
		all = a.asgiImports()
		n := 1
		if a.Server == "gunicorn-uvicorn" {
			n = 2
		}
		return all[:n], all
	}
	fw := map[string]string{"flask": "flask", "django": "django", "gunicorn": "flask"}[a.Kind]
	return []string{"gunicorn"}, []string{"gunicorn", fw}
}

// command is the shell command that serves the app: its ASGI server, else gunicorn.
func (a *pyApp) command() (string, error) {
	if a.Kind == "asgi" {
		return a.asgiCommand()
	}
	return a.gunicornCommand()
}

// chdirArg is " --chdir DIR" for an app outside the image's working
// directory, "" for one in it.
func (a *pyApp) chdirArg() (string, error) {
	if a.Chdir == "" || a.Chdir == "." {
		return "", nil
	}
	if !moduleRE.MatchString(strings.ReplaceAll(strings.ReplaceAll(a.Chdir, "/", "."), "-", "_")) {
		return "", fmt.Errorf("--dockerfile: app directory %q: use a plain relative path", a.Chdir)
	}
	return " --chdir " + a.Chdir, nil
}

// gunicornCommand is the shell command that serves the app with gunicorn.
func (a *pyApp) gunicornCommand() (string, error) {
	if !moduleRE.MatchString(a.Module) {
		return "", fmt.Errorf("--dockerfile: %q is not a Python module:callable gunicorn can load", a.Module)
	}
	chdir, err := a.chdirArg()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("exec python3 -m gunicorn --bind 0.0.0.0:$PORT --workers 2 --access-logfile -%s '%s'", chdir, a.Module), nil
}

// devServer names the development server p's command runs, or "".
func devServer(p *Process) string {
	words := strings.Fields(p.Command)
	switch {
	case slicesHas(words, "runserver"):
		return "manage.py runserver"
	case slicesHas(words, "flask") && slicesHas(words, "run"):
		return "flask run"
	}
	return ""
}

func hasDockerfile(dir string) (bool, error) { return fileExists(filepath.Join(dir, "Dockerfile")) }

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func slicesHas(words []string, w string) bool {
	for _, x := range words {
		if x == w || strings.HasSuffix(x, "/"+w) {
			return true
		}
	}
	return false
}
