package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

// TestDockerfileServesASGIApps (issue 22 item 1): each ASGI server's command
// gets with --dockerfile a Dockerfile serving the same app with the same
// server on 0.0.0.0:$PORT, without the command's --host, --reload or
// --workers, installing the server and the framework its module imports;
// a plain gunicorn (WSGI) command gets none, as before.
func TestDockerfileServesASGIApps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, command, module, source string
		wantCmd, wantImport           string // "" wantCmd: no Dockerfile
	}{
		{"uvicorn fastapi", "/usr/bin/python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT --reload", "main.py", "from fastapi import FastAPI\napp = FastAPI()\n",
			"exec python3 -m uvicorn --host 0.0.0.0 --port $PORT --forwarded-allow-ips '*' 'main:app'", "import uvicorn, fastapi"},
		{"uvicorn app-dir starlette", "uvicorn --app-dir src --port $PORT shop.asgi:app", "src/shop/asgi.py", "from starlette.applications import Starlette\n",
			"exec python3 -m uvicorn --host 0.0.0.0 --port $PORT --forwarded-allow-ips '*' --app-dir src 'shop.asgi:app'", "import uvicorn, starlette"},
		{"hypercorn", "hypercorn --bind 127.0.0.1:$PORT main:app", "main.py", "import fastapi\n",
			"exec python3 -m hypercorn --bind 0.0.0.0:$PORT --access-logfile - 'main:app'", "import hypercorn, fastapi"},
		{"daphne django", "daphne -b 127.0.0.1 -p $PORT demo.asgi:application", "demo/asgi.py", "from django.core.asgi import get_asgi_application\n",
			"exec python3 -m daphne -b 0.0.0.0 -p $PORT --proxy-headers 'demo.asgi:application'", "import daphne, django"},
		{"gunicorn uvicorn worker", "gunicorn -k uvicorn.workers.UvicornWorker --workers 4 --bind 127.0.0.1:$PORT main:app", "main.py", "async def app(scope, receive, send): pass\n",
			"exec python3 -m gunicorn -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:$PORT --workers 2 --forwarded-allow-ips '*' --access-logfile - 'main:app'", "import gunicorn, uvicorn'"},
		{"gunicorn wsgi", "gunicorn --bind 0.0.0.0:$PORT app:app", "app.py", "from flask import Flask\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := filepath.Join(dir, filepath.FromSlash(tc.module))
			if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, []byte(tc.source), 0o644); err != nil {
				t.Fatal(err)
			}
			manifest := filepath.Join(dir, "Procfile")
			if err := os.WriteFile(manifest, []byte("web: "+tc.command+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := renderFile(t, manifest, "compose", Options{Dockerfile: true, OutDir: dir})
			var df string
			for _, f := range r.Files {
				if f.Name == "Dockerfile" {
					df = string(f.Data)
				}
			}
			if tc.wantCmd == "" {
				if df != "" {
					t.Fatalf("a Dockerfile for %q:\n%s", tc.command, df)
				}
				return
			}
			if !strings.Contains(df, tc.wantCmd+`"]`) {
				t.Errorf("Dockerfile's CMD: want %s in\n%s", tc.wantCmd, df)
			}
			if !strings.Contains(df, tc.wantImport) {
				t.Errorf("Dockerfile installs: want %q in\n%s", tc.wantImport, df)
			}
		})
	}
}

// renderFile loads the manifest at path and exports it.
func renderFile(t *testing.T, path, format string, opts Options) *Result {
	t.Helper()
	m, err := procfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	opts.App = firstNonEmpty(opts.App, "app")
	c, err := Build(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return mustRender(t, c, format)
}
