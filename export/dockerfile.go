package export

import (
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
	Kind   string // "flask", "django" or "gunicorn"
	Chdir  string // directory of the app module, relative to the manifest's
	Module string // gunicorn's APP_MODULE: "app:app", "demo.wsgi:application"
	Env    []EnvPair
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

// dockerfile writes a Dockerfile serving the app with gunicorn, the usual
// production server; requirements.txt is installed when there is one.
func (c *Cluster) dockerfile(p *Process, a *pyApp) (string, error) {
	if !moduleRE.MatchString(a.Module) {
		return "", fmt.Errorf("--dockerfile: %q is not a Python module:callable gunicorn can load", a.Module)
	}
	var b strings.Builder
	b.WriteString(c.header("#"))
	pkgs := "gunicorn " + map[string]string{"flask": "flask", "django": "django", "gunicorn": "flask"}[a.Kind]
	fmt.Fprintf(&b, `FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt* ./
RUN if [ -f requirements.txt ]; then pip install --no-cache-dir -r requirements.txt gunicorn; \
    else pip install --no-cache-dir %s; fi
COPY . .
ENV PYTHONUNBUFFERED=1 PORT=%d`, pkgs, p.Port)
	for _, e := range a.Env {
		fmt.Fprintf(&b, " %s=%s", e.Key, e.Value) // detected module names: [A-Za-z0-9_.]
	}
	chdir := ""
	if a.Chdir != "" && a.Chdir != "." {
		if !moduleRE.MatchString(strings.ReplaceAll(strings.ReplaceAll(a.Chdir, "/", "."), "-", "_")) {
			return "", fmt.Errorf("--dockerfile: app directory %q: use a plain relative path", a.Chdir)
		}
		chdir = " --chdir " + a.Chdir
	}
	fmt.Fprintf(&b, "\nEXPOSE %d\n", p.Port)
	fmt.Fprintf(&b, "CMD [\"/bin/sh\", \"-c\", \"exec gunicorn --bind 0.0.0.0:$PORT --workers 2 --access-logfile -%s '%s'\"]\n", chdir, a.Module)
	return b.String(), nil
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

func hasDockerfile(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, "Dockerfile"))
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
