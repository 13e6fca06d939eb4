package scaffold

import (
	"bytes"
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
		!strings.Contains(string(out), "--no-reload") && !strings.Contains(string(out), "--noreload") && !strings.Contains(string(out), "gunicorn") {
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
// development server and for gunicorn (a console script) alike.
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

func TestDetectNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty dir", nil, "no Flask or Django app found in DIR: looked for manage.py (Django), app.py, wsgi.py or main.py containing \"Flask(\", and FLASK_APP in .env or .flaskenv; run \"devcluster init\" in the app's directory, or write devcluster.yaml by hand"},
		{"python without flask", map[string]string{"app.py": "print('hi')\n", ".env": "OTHER=1\n"}, "no Flask or Django app found in DIR"},
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
