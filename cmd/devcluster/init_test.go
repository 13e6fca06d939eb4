package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/scaffold"
	"github.com/devcluster/devcluster/supervisor"
)

// TestInitAsksForStandbysOnlyWhereTheSupervisorCanRunThem: scaffold may not
// import the supervisor, so this is where the two are held together. For every
// kind of project init knows, the manifest it writes says reload.standby: true
// only if supervisor.StandbyProblem finds nothing against its command (an
// ASGI server run as python -m uvicorn, gunicorn's console script, ...).
func TestInitAsksForStandbysOnlyWhereTheSupervisorCanRunThem(t *testing.T) {
	t.Parallel()
	const fastapi = "from fastapi import FastAPI\napp = FastAPI()\n"
	venv := map[string]string{".venv/bin/python3": "#!/bin/sh\n", ".venv/bin/gunicorn": "#!/usr/bin/python3\n"}
	with := func(files map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range []map[string]string{files, more} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		files map[string]string
		opts  scaffold.RenderOptions
	}{
		{"flask", map[string]string{"app.py": "from flask import Flask\napp = Flask(__name__)\n"}, scaffold.RenderOptions{}},
		{"django", map[string]string{"manage.py": "import os\n", "mysite/settings.py": "", "mysite/asgi.py": ""}, scaffold.RenderOptions{}},
		{"django --asgi", map[string]string{"manage.py": "import os\n", "mysite/settings.py": "", "mysite/asgi.py": ""}, scaffold.RenderOptions{ASGI: true}},
		{"fastapi on uvicorn", map[string]string{"main.py": fastapi}, scaffold.RenderOptions{Python: "/usr/bin/python3"}},
		{"fastapi factory", map[string]string{"main.py": "from fastapi import FastAPI\ndef create_app():\n    return FastAPI()\n"}, scaffold.RenderOptions{}},
		{"starlette on hypercorn", map[string]string{"app.py": "from starlette.applications import Starlette\napp = Starlette()\n", "requirements.txt": "hypercorn\n"}, scaffold.RenderOptions{}},
		{"fastapi on daphne", map[string]string{"main.py": fastapi, "requirements.txt": "daphne\n"}, scaffold.RenderOptions{}},
		{"flask on gunicorn", with(map[string]string{"app.py": "from flask import Flask\napp = Flask(__name__)\n", "requirements.txt": "gunicorn\n"}, venv), scaffold.RenderOptions{}},
		{"fastapi on gunicorn", with(map[string]string{"main.py": fastapi, "requirements.txt": "uvicorn\ngunicorn\n"}, venv), scaffold.RenderOptions{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tt.files {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			p, err := scaffold.Detect(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := scaffold.Validate(p, tt.opts); err != nil {
				t.Fatal(err)
			}
			m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(scaffold.Render(p, tt.opts)))
			if err != nil {
				t.Fatal(err)
			}
			web := m.Process("web")
			why := supervisor.StandbyProblem(supervisor.InstanceSpec{Command: web.Command, Dir: dir, Env: []string{"PATH=/nonexistent"}})
			if web.Reload.Standby != (why == "") {
				t.Errorf("command %q: reload.standby %v, but the supervisor says %q", web.Command, web.Reload.Standby, why)
			}
		})
	}
}

// TestPickPythonSaysWhichAndWhy: init writes the first interpreter that imports
// what the command runs, and says which ones could not; none is a warning that
// says what to install.
func TestPickPythonSaysWhichAndWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fake := func(name string, status int) string {
		path := filepath.Join(dir, name)
		script := "#!/bin/sh\n[ \"$1 $2\" = \"-c import fastapi, uvicorn\" ] || exit 9\nexit " + map[bool]string{true: "0", false: "1"}[status == 0] + "\n"
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	without, with := fake("python-without", 1), fake("python-with", 0)
	mods := []string{"fastapi", "uvicorn"}

	py, note, ok := pickPython(context.Background(), []string{without, with}, mods)
	if want := with + " imports fastapi, uvicorn; " + without + " cannot"; py != with || note != want || !ok {
		t.Errorf("got %q, %q, %v; want %q, %q, true", py, note, ok, with, want)
	}
	py, note, ok = pickPython(context.Background(), []string{with, without}, mods)
	if want := with + " imports fastapi, uvicorn"; py != with || note != want || !ok {
		t.Errorf("got %q, %q, %v; want %q, %q, true", py, note, ok, with, want)
	}
	py, note, ok = pickPython(context.Background(), []string{without, filepath.Join(dir, "missing")}, mods)
	want := "no interpreter here imports fastapi, uvicorn (tried " + without + ", " + filepath.Join(dir, "missing") +
		"): install them (pip install fastapi uvicorn), or name one with --python"
	if py != "python3" || note != want || ok {
		t.Errorf("got %q, %q, %v; want python3, %q, false", py, note, ok, want)
	}
}
