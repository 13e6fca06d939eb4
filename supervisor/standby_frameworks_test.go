package supervisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/internal/tstest"
)

// standbyPreloads runs standby.py's scan and preload for the command words
// args (what follows the interpreter) in a project dir with files, and returns
// the modules then in sys.modules.
func standbyPreloads(t *testing.T, files map[string]string, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	prog := `import json, os, sys
m = load_standby(sys.argv[1])
os.chdir(sys.argv[2])
sys.path.insert(0, os.getcwd())
mode, target, rest, why = m.parse(sys.argv[3:])
m.preload(m.plan(m.Project([os.getcwd()]), mode, target, rest))
print(json.dumps(sorted(sys.modules)))
`
	var mods []string
	if err := json.Unmarshal(runStandbyPython(t, prog, append([]string{dir}, args...)...), &mods); err != nil {
		t.Fatal(err)
	}
	return mods
}

// writeTree writes files (path relative to dir: contents) under dir, making
// their directories.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func checkPreloaded(t *testing.T, mods []string, want, never []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(mods, w) {
			t.Errorf("%s is not preloaded", w)
		}
	}
	for _, n := range never {
		for _, m := range mods {
			if m == n || strings.HasPrefix(m, n+".") {
				t.Errorf("the app's own module %s was imported by the standby", m)
			}
		}
	}
}

const fastapiMain = "from fastapi import FastAPI\nimport helpers\napp = FastAPI()\n"

// TestStandbyPreloadsTheASGIAppsFramework (issue 22 item 2): for uvicorn,
// hypercorn or daphne, "python -m uvicorn main:app" or the console script, the
// standby scans the app module the server's argument names and preloads what
// it imports (FastAPI, Starlette, and the imports of the project's modules it
// imports) and the protocol implementations uvicorn picks once it runs, never
// the app's own modules. Before, it imported uvicorn only.
func TestStandbyPreloadsTheASGIAppsFramework(t *testing.T) {
	t.Parallel()
	tstest.NeedModules(t, "/usr/bin/python3", "fastapi", "uvicorn")
	files := map[string]string{"main.py": fastapiMain, "helpers.py": "import starlette.websockets\n"}
	mods := standbyPreloads(t, files, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--log-level", "debug", "--port", "5000")
	checkPreloaded(t, mods, []string{"uvicorn", "fastapi", "starlette.websockets", "uvicorn.protocols.http.auto",
		"uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on"}, []string{"main", "helpers"})

	uvicorn, err := tstest.LookTool("uvicorn")
	if err != nil {
		return // the console script is Debian's python3-uvicorn's; -m is covered above
	}
	mods = standbyPreloads(t, files, uvicorn, "main:app", "--port", "5000")
	checkPreloaded(t, mods, []string{"uvicorn", "fastapi", "starlette.websockets"}, []string{"main", "helpers"})
}

// TestStandbyPreloadsDjangosInstalledApps (issue 22 item 2): for manage.py
// runserver (and asgi.py, wsgi.py), the standby reads the settings module
// DJANGO_SETTINGS_MODULE names without importing it, and preloads Django's
// start, the runserver command, the apps of INSTALLED_APPS that are not the
// project's, and what the URL conf imports. Before, it preloaded nothing of
// Django (manage.py imports it inside main()).
func TestStandbyPreloadsDjangosInstalledApps(t *testing.T) {
	t.Parallel()
	tstest.NeedModules(t, "/usr/bin/python3", "django")
	files := map[string]string{
		"manage.py": `import os, sys

def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)

if __name__ == "__main__":
    main()
`,
		"mysite/__init__.py": "",
		"mysite/settings.py": `SECRET_KEY = "x"
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "polls.apps.PollsConfig",
]
`,
		"mysite/urls.py":    "from django.urls import path\nfrom django.contrib import admin\nurlpatterns = []\n",
		"polls/__init__.py": "",
		"polls/apps.py":     "from django.apps import AppConfig\nclass PollsConfig(AppConfig):\n    name = 'polls'\n",
	}
	mods := standbyPreloads(t, files, "manage.py", "runserver", "--noreload", "127.0.0.1:5000")
	checkPreloaded(t, mods, []string{"django.core.management", "django.core.management.commands.runserver",
		"django.contrib.auth.apps", "django.contrib.sessions.apps", "django.contrib.contenttypes.apps", "django.contrib.admin"},
		[]string{"mysite", "polls"})
}

// TestStandbyPreloadsGunicornsStart: for python -m gunicorn app:app the standby
// preloads what gunicorn's __main__ imports at its top (gunicorn.app.wsgiapp:
// its configuration, the arbiter; read, not run), the sync worker, and what
// the app imports. Before, it imported the bare gunicorn package only, and
// gunicorn.app.wsgiapp (~0.2 s on a loaded machine) came after the go.
func TestStandbyPreloadsGunicornsStart(t *testing.T) {
	t.Parallel()
	tstest.NeedModules(t, "/usr/bin/python3", "gunicorn")
	files := map[string]string{"app.py": "import xml.dom.minidom\n\ndef app(environ, start_response):\n    pass\n"}
	mods := standbyPreloads(t, files, "-m", "gunicorn", "--bind", "127.0.0.1:5000", "--workers", "1", "app:app")
	checkPreloaded(t, mods, []string{"gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.sync", "xml.dom.minidom"},
		[]string{"app"})
}
