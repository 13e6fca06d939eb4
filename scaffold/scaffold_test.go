package scaffold

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

// layout writes files (path → content) under a new temporary directory.
// A content starting with "#!" is made executable.
func layout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const flaskApp = `from flask import Flask

app = Flask(__name__)

@app.route("/")
def index():
    return "hi"

@app.get("/health")
def health():
    return "ok"
`

const djangoManage = `#!/usr/bin/env python
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
`

const fastapiApp = `from fastapi import FastAPI

app = FastAPI(title="shop")


@app.get("/")
def index():
    return {"hello": "world"}


@app.get("/health")
def health():
    return "ok"
`

const djangoASGI = `import os
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_asgi_application()
`

// detectCase is a project layout, what Detect should find in it and the
// command Render should write for it.
type detectCase struct {
	name    string
	files   map[string]string
	opts    RenderOptions
	want    Project // Dir and Found are not compared
	command string
}

// detectCases are TestDetectAndRender's table.
func detectCases() []detectCase {
	return []detectCase{
		{
			name:    "flask app.py",
			files:   map[string]string{"app.py": flaskApp, "requirements.txt": "flask==3.0\n# gunicorn later\n"},
			want:    Project{Kind: KindFlask, AppModule: "app", AppObject: "app", HealthPath: "/health"},
			command: "python3 -m flask --app app run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "flask wsgi.py with another name, no health route",
			files:   map[string]string{"wsgi.py": "import flask\nserver: flask.Flask = flask.Flask(__name__)\n"},
			opts:    RenderOptions{Python: "/usr/bin/python3"},
			want:    Project{Kind: KindFlask, AppModule: "wsgi", AppObject: "server", HealthPath: "/"},
			command: "/usr/bin/python3 -m flask --app wsgi:server run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name: "flask factory in main.py",
			files: map[string]string{"main.py": "from flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n    return app\n",
				"views/status.py": "bp.add_url_rule('/healthz', view_func=ok)\n"},
			want:    Project{Kind: KindFlask, AppModule: "main", AppObject: "create_app()", HealthPath: "/healthz"},
			command: "python3 -m flask --app 'main:create_app()' run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "FLASK_APP in .flaskenv",
			files:   map[string]string{".flaskenv": "export FLASK_APP=src/hello.py\n", "src/hello.py": "x = 1\n"},
			want:    Project{Kind: KindFlask, AppModule: "src.hello", HealthPath: "/"},
			command: "python3 -m flask --app src.hello run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "FLASK_APP in .env with factory",
			files:   map[string]string{".env": "DEBUG=0\nFLASK_APP=\"shop:create_app()\"\n"},
			want:    Project{Kind: KindFlask, AppModule: "shop", AppObject: "create_app()", HealthPath: "/"},
			command: "python3 -m flask --app 'shop:create_app()' run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name: "flask with gunicorn and a virtualenv",
			files: map[string]string{"app.py": flaskApp, "requirements-prod.txt": "Flask\ngunicorn[gevent]>=21\n",
				".venv/bin/python3": "#!/bin/sh\n", ".venv/bin/gunicorn": "#!/bin/sh\n"},
			want: Project{Kind: KindFlask, AppModule: "app", AppObject: "app", HealthPath: "/health",
				Gunicorn: true, GunicornCommand: ".venv/bin/gunicorn", Python: ".venv/bin/python3"},
			command: ".venv/bin/gunicorn -b 127.0.0.1:$PORT app:app",
		},
		{
			name:    "flask with gunicorn, dev server chosen",
			files:   map[string]string{"app.py": flaskApp, "pyproject.toml": "[project]\ndependencies = [\"flask\", \"gunicorn>=21\"]\n"},
			opts:    RenderOptions{DevServer: true},
			want:    Project{Kind: KindFlask, AppModule: "app", AppObject: "app", HealthPath: "/health", Gunicorn: true, GunicornCommand: "gunicorn"},
			command: "python3 -m flask --app app run --no-reload --host 127.0.0.1 --port $PORT",
		},
		{
			name: "django",
			files: map[string]string{"manage.py": djangoManage, "mysite/settings.py": "DEBUG = True\n", "mysite/wsgi.py": "application = None\n",
				"mysite/urls.py": "urlpatterns = [path(\"health/\", views.health), path('', views.index)]\n"},
			opts: RenderOptions{Python: "/usr/bin/python3"},
			want: Project{Kind: KindDjango, AppModule: "mysite", SettingsModule: "mysite.settings", WSGIModule: "mysite.wsgi",
				HealthPath: "/health/"},
			command: "/usr/bin/python3 manage.py runserver --noreload 127.0.0.1:$PORT",
		},
		{
			name: "django without settings in manage.py",
			files: map[string]string{"manage.py": "import sys\n", "proj/settings.py": "", "proj/wsgi.py": "",
				".venv/lib/x/wsgi.py": "", "node_modules/a.py": "'/health'"},
			want:    Project{Kind: KindDjango, AppModule: "proj", SettingsModule: "proj.settings", WSGIModule: "proj.wsgi", HealthPath: "/"},
			command: "python3 manage.py runserver --noreload 127.0.0.1:$PORT",
		},
		{
			name: "django with gunicorn",
			files: map[string]string{"manage.py": djangoManage, "mysite/wsgi.py": "", "requirements.txt": "Django==4.2\ngunicorn==21.2.0\n",
				"mysite/views.py": "def health(request):\n    return HttpResponse('ok')  # served at '/health'\n"},
			want: Project{Kind: KindDjango, AppModule: "mysite", SettingsModule: "mysite.settings", WSGIModule: "mysite.wsgi",
				HealthPath: "/health", Gunicorn: true, GunicornCommand: "gunicorn"},
			command: "gunicorn -b 127.0.0.1:$PORT mysite.wsgi",
		},
		{
			name:    "fastapi main.py",
			files:   map[string]string{"main.py": fastapiApp},
			opts:    RenderOptions{Python: "/usr/bin/python3"},
			want:    Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/health"},
			command: "/usr/bin/python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "fastapi in app/main.py, no health route",
			files:   map[string]string{"app/main.py": "import fastapi\n\napi: fastapi.FastAPI = fastapi.FastAPI()\n", "app/__init__.py": ""},
			want:    Project{Kind: KindFastAPI, AppModule: "app.main", AppObject: "api", HealthPath: "/docs"},
			command: "python3 -m uvicorn app.main:api --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "fastapi without docs and without a health route",
			files:   map[string]string{"main.py": "from fastapi import FastAPI\napp = FastAPI(docs_url=None)\n"},
			want:    Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/"},
			command: "python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT",
		},
		{
			name: "fastapi factory",
			files: map[string]string{"main.py": "from fastapi import FastAPI\n\ndef create_app():\n    app = FastAPI()\n    return app\n",
				"routes.py": "@router.get('/healthz')\n"},
			want:    Project{Kind: KindFastAPI, AppModule: "main", AppObject: "create_app()", HealthPath: "/healthz"},
			command: "python3 -m uvicorn --factory main:create_app --host 127.0.0.1 --port $PORT",
		},
		{
			name: "starlette asgi.py with hypercorn",
			files: map[string]string{"asgi.py": "from starlette.applications import Starlette\n\napplication = Starlette(routes=routes)\n",
				"requirements.txt": "starlette\nhypercorn>=0.14\n"},
			want:    Project{Kind: KindStarlette, AppModule: "asgi", AppObject: "application", HealthPath: "/", ASGIServer: ServerHypercorn},
			command: "python3 -m hypercorn --bind 127.0.0.1:$PORT asgi:application",
		},
		{
			name:    "fastapi with daphne",
			files:   map[string]string{"main.py": fastapiApp, "Pipfile": "[packages]\ndaphne = \"*\"\nfastapi = \"*\"\n"},
			want:    Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/health", ASGIServer: ServerDaphne},
			command: "python3 -m daphne -b 127.0.0.1 -p $PORT main:app",
		},
		{
			name: "fastapi with gunicorn and uvicorn",
			files: map[string]string{"main.py": fastapiApp,
				"pyproject.toml": "[project]\ndependencies = [\"fastapi\", \"uvicorn[standard]>=0.20\", \"gunicorn\"]\n"},
			want: Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/health",
				ASGIServer: ServerUvicorn, Gunicorn: true, GunicornCommand: "gunicorn"},
			command: "gunicorn -k uvicorn.workers.UvicornWorker -b 127.0.0.1:$PORT main:app",
		},
		{
			name:  "fastapi with gunicorn, uvicorn alone chosen",
			files: map[string]string{"main.py": fastapiApp, "requirements.txt": "fastapi\nuvicorn\ngunicorn\n"},
			opts:  RenderOptions{DevServer: true},
			want: Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/health",
				ASGIServer: ServerUvicorn, Gunicorn: true, GunicornCommand: "gunicorn"},
			command: "python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT",
		},
		{
			name: "django served through asgi.py",
			files: map[string]string{"manage.py": djangoManage, "mysite/settings.py": "", "mysite/wsgi.py": "", "mysite/asgi.py": djangoASGI,
				"mysite/urls.py": "urlpatterns = [path('healthz', views.health)]\n"},
			opts: RenderOptions{Python: "/usr/bin/python3", ASGI: true},
			want: Project{Kind: KindDjango, AppModule: "mysite", SettingsModule: "mysite.settings", WSGIModule: "mysite.wsgi",
				ASGIModule: "mysite.asgi", HealthPath: "/healthz"},
			command: "/usr/bin/python3 -m uvicorn mysite.asgi:application --host 127.0.0.1 --port $PORT",
		},
		{
			name:  "django with asgi.py, runserver unless asked",
			files: map[string]string{"manage.py": djangoManage, "mysite/settings.py": "", "mysite/asgi.py": djangoASGI},
			want: Project{Kind: KindDjango, AppModule: "mysite", SettingsModule: "mysite.settings",
				ASGIModule: "mysite.asgi", HealthPath: "/"},
			command: "python3 manage.py runserver --noreload 127.0.0.1:$PORT",
		},
		{
			name: "fastapi mounting a flask app",
			files: map[string]string{"main.py": "from flask import Flask\nfrom fastapi import FastAPI\nfrom fastapi.middleware.wsgi import WSGIMiddleware\n\n" +
				"legacy = Flask(__name__)\napp = FastAPI()\napp.mount('/v1', WSGIMiddleware(legacy))\n"},
			want:    Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/docs"},
			command: "python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT",
		},
		{
			name:    "flask comes before fastapi",
			files:   map[string]string{"app.py": flaskApp, "main.py": fastapiApp},
			want:    Project{Kind: KindFlask, AppModule: "app", AppObject: "app", HealthPath: "/health"},
			command: "python3 -m flask --app app run --no-reload --host 127.0.0.1 --port $PORT",
		},
	}
}

func TestDetectAndRender(t *testing.T) {
	t.Parallel()
	for _, tt := range detectCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := layout(t, tt.files)
			p, err := Detect(dir)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if p.Dir != dir || len(p.Found) == 0 {
				t.Errorf("got Dir %q Found %q, want %q and a description", p.Dir, p.Found, dir)
			}
			got := *p
			got.Dir, got.Found = "", nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if cmd := Command(p, tt.opts); cmd != tt.command {
				t.Errorf("got command %q, want %q", cmd, tt.command)
			}
			checkRendered(t, p, tt)
		})
	}
}

// checkRendered checks that the file Render writes for p parses as devcluster
// up will read it, runs tt's command and explains itself.
func checkRendered(t *testing.T, p *Project, tt detectCase) {
	t.Helper()
	out := Render(p, tt.opts)
	m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(out))
	if err != nil {
		t.Fatalf("rendered file does not parse: %v\n%s", err, out)
	}
	web := m.Process("web")
	if len(m.Processes) != 1 || web == nil {
		t.Fatalf("got processes %v, want only web", m.Processes)
	}
	if web.Command != tt.command || web.Instances != 3 || web.Health.Path != tt.want.HealthPath || !m.IsBalanced(web) {
		t.Errorf("got web %+v, want command %q, 3 instances, health %q, balanced", *web, tt.command, tt.want.HealthPath)
	}
	if w := procfile.ReloaderWarnings(m); len(w) != 0 {
		t.Errorf("got reloader warnings %q, want none", w)
	}
	if m.Proxy.Listen != "127.0.0.1:8080" {
		t.Errorf("got proxy listen %q, want 127.0.0.1:8080", m.Proxy.Listen)
	}
	if tt.want.Kind == KindDjango && web.Env["DJANGO_SETTINGS_MODULE"] != tt.want.SettingsModule {
		t.Errorf("got DJANGO_SETTINGS_MODULE %q, want %q", web.Env["DJANGO_SETTINGS_MODULE"], tt.want.SettingsModule)
	}
	// Every key is explained: each non-comment line below processes:
	// follows a comment line or another key of the same block.
	if !strings.Contains(string(out), "# devcluster.yaml, written by \"devcluster init\"") ||
		!strings.Contains(string(out), "--no-reload") && !strings.Contains(string(out), "--noreload") && !strings.Contains(string(out), "gunicorn") &&
			!strings.Contains(string(out), "No --workers") {
		t.Errorf("rendered file lacks its explanations:\n%s", out)
	}
}

func TestRenderInstances(t *testing.T) {
	t.Parallel()
	p := &Project{Kind: KindFlask, AppModule: "app", HealthPath: "/"}
	m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(Render(p, RenderOptions{Instances: 5})))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Process("web").Instances; got != 5 {
		t.Errorf("got %d instances, want 5", got)
	}
}

// TestRenderStandby: a manifest init writes asks for warm standbys, for a
// development server, for gunicorn (a console script) and for an ASGI server
// run as a module of the interpreter alike (cmd's
// TestInitAsksForStandbysOnlyWhereTheSupervisorCanRunThem holds this to what
// the supervisor can run).
func TestRenderStandby(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		p    *Project
		want bool
	}{
		{"flask", &Project{Kind: KindFlask, AppModule: "app", HealthPath: "/"}, true},
		{"django", &Project{Kind: KindDjango, HealthPath: "/"}, true},
		{"gunicorn", &Project{Kind: KindFlask, AppModule: "app", HealthPath: "/", Gunicorn: true}, true},
		{"fastapi", &Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/"}, true},
		{"fastapi on gunicorn", &Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/", Gunicorn: true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(Render(tt.p, RenderOptions{Instances: 2})))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Process("web").Reload.Standby; got != tt.want {
				t.Errorf("reload.standby %v, want %v", got, tt.want)
			}
		})
	}
}

// TestValidateASGI: init --asgi is refused, saying why, where no ASGI
// application is to be found.
func TestValidateASGI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		p    *Project
		want string // "" for no error
	}{
		{"flask", &Project{Kind: KindFlask, Dir: "/src/shop"}, "--asgi: the Flask app in /src/shop is a WSGI app, which an ASGI server does not serve as it is; run \"devcluster init\" without --asgi"},
		{"django without asgi.py", &Project{Kind: KindDjango, AppModule: "mysite"}, "--asgi: no asgi.py in mysite (Django 3.0 and later write one with startproject); add it, or run \"devcluster init\" without --asgi"},
		{"django with asgi.py", &Project{Kind: KindDjango, AppModule: "mysite", ASGIModule: "mysite.asgi"}, ""},
		{"fastapi", &Project{Kind: KindFastAPI, AppModule: "main"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.p, RenderOptions{ASGI: true})
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if err := Validate(tt.p, RenderOptions{}); err != nil {
				t.Errorf("without --asgi: got %v, want nil", err)
			}
		})
	}
}

// TestModules: what init asks an interpreter to import before it writes it
// into the command: the framework and the server the command runs.
func TestModules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		p    *Project
		opts RenderOptions
		want string
	}{
		{"flask", &Project{Kind: KindFlask}, RenderOptions{}, "flask"},
		{"flask on gunicorn", &Project{Kind: KindFlask, Gunicorn: true}, RenderOptions{}, "flask"},
		{"django", &Project{Kind: KindDjango, ASGIModule: "mysite.asgi"}, RenderOptions{}, "django"},
		{"django --asgi", &Project{Kind: KindDjango, ASGIModule: "mysite.asgi"}, RenderOptions{ASGI: true}, "django uvicorn"},
		{"fastapi", &Project{Kind: KindFastAPI}, RenderOptions{}, "fastapi uvicorn"},
		{"starlette on hypercorn", &Project{Kind: KindStarlette, ASGIServer: ServerHypercorn}, RenderOptions{}, "starlette hypercorn"},
		{"fastapi on gunicorn", &Project{Kind: KindFastAPI, Gunicorn: true}, RenderOptions{}, "fastapi"},
		{"fastapi on daphne, gunicorn listed", &Project{Kind: KindFastAPI, ASGIServer: ServerDaphne, Gunicorn: true}, RenderOptions{}, "fastapi daphne"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(Modules(tt.p, tt.opts), " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRenderSaysWhichPython: the interpreter init chose, and why, is written
// above the command.
func TestRenderSaysWhichPython(t *testing.T) {
	t.Parallel()
	p := &Project{Kind: KindFastAPI, AppModule: "main", AppObject: "app", HealthPath: "/"}
	out := string(Render(p, RenderOptions{Python: "/usr/bin/python3", PythonNote: "python3 (on PATH) cannot import fastapi, uvicorn; /usr/bin/python3 can"}))
	want := "    # Interpreter: python3 (on PATH) cannot import fastapi, uvicorn; /usr/bin/python3 can.\n    command: /usr/bin/python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT\n"
	if !strings.Contains(out, want) {
		t.Errorf("rendered file lacks %q:\n%s", want, out)
	}
}

func TestDetectNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty dir", nil, "no Flask, Django, FastAPI or Starlette app found in DIR: looked for manage.py (Django), app.py, wsgi.py or main.py containing \"Flask(\", FLASK_APP in .env or .flaskenv, and main.py, app.py, asgi.py, api.py, server.py, app/main.py, src/main.py containing \"FastAPI(\" or \"Starlette(\"; run \"devcluster init\" in the app's directory, or write devcluster.yaml by hand"},
		{"python without flask", map[string]string{"app.py": "print('hi')\n", ".env": "OTHER=1\n"}, "no Flask, Django, FastAPI or Starlette app found in DIR"},
		{"fastapi mentioned, not called", map[string]string{"main.py": "# we may move to FastAPI later\nimport json\n"}, "no Flask, Django, FastAPI or Starlette app found in DIR"},
		{"gunicorn but no app", map[string]string{"requirements.txt": "gunicorn\n", "server.py": "app = Flask(__name__)\n"}, "found gunicorn in requirements.txt but no app in DIR: looked for manage.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := layout(t, tt.files)
			p, err := Detect(dir)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %v, %v, want error starting %q", p, err, want)
			}
		})
	}
	t.Run("not a directory", func(t *testing.T) {
		t.Parallel()
		dir := layout(t, map[string]string{"f": ""})
		if _, err := Detect(filepath.Join(dir, "f")); err == nil || !strings.Contains(err.Error(), "is not a directory") {
			t.Errorf("got %v, want a not-a-directory error", err)
		}
		if _, err := Detect(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "detect project: ") {
			t.Errorf("got %v, want a detect project error", err)
		}
	})
}

func TestWrite(t *testing.T) {
	t.Parallel()
	t.Run("new file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path, err := Write(dir, []byte("a: 1\n"), false)
		if err != nil || path != filepath.Join(dir, "devcluster.yaml") {
			t.Fatalf("got %q, %v, want %s/devcluster.yaml", path, err, dir)
		}
		data, _ := os.ReadFile(path)
		fi, _ := os.Stat(path)
		if string(data) != "a: 1\n" || fi.Mode().Perm() != 0o644 {
			t.Errorf("got %q mode %v, want \"a: 1\\n\" mode 0644", data, fi.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".devcluster.yaml.*")); len(left) != 0 {
			t.Errorf("got temporary files %q left behind, want none", left)
		}
	})
	for _, existing := range []string{"devcluster.yaml", "devcluster.yml"} {
		t.Run("refuses existing "+existing, func(t *testing.T) {
			t.Parallel()
			dir := layout(t, map[string]string{existing: "old\n"})
			_, err := Write(dir, []byte("new\n"), false)
			want := existing + " already exists in " + dir + "; use --force to overwrite it"
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %q", err, want)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, existing)); string(data) != "old\n" {
				t.Errorf("got %q, want the old file untouched", data)
			}
		})
	}
	t.Run("force overwrites", func(t *testing.T) {
		t.Parallel()
		dir := layout(t, map[string]string{"devcluster.yaml": "old\n"})
		path, err := Write(dir, []byte("new\n"), true)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if data, _ := os.ReadFile(path); string(data) != "new\n" {
			t.Errorf("got %q, want new", data)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		t.Parallel()
		_, err := Write(filepath.Join(t.TempDir(), "nope"), []byte("x"), true)
		if err == nil || !strings.HasPrefix(err.Error(), "write devcluster.yaml: ") {
			t.Errorf("got %v, want a write error", err)
		}
	})
}
