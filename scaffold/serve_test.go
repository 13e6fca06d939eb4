package scaffold

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/devcluster/devcluster/procfile"
)

// freePort returns a loopback port that was free a moment ago.
// servePortBase is the first of TestRenderedCommandServes's ports, one per case, used
// by no other test. Below 32768, so no test's :0 listener can take one: an ephemeral
// port found free and closed could be (a full run once got "web.1" from another
// package's backend on it).
const servePortBase = 19200

// djangoServed is a Django project whose /health answers "ok", with extra
// files added.
func djangoServed(extra map[string]string) map[string]string {
	files := map[string]string{
		"manage.py":          djangoManage,
		"mysite/__init__.py": "",
		"mysite/settings.py": "SECRET_KEY = 'x'\nDEBUG = True\nALLOWED_HOSTS = ['*']\nROOT_URLCONF = 'mysite.urls'\nINSTALLED_APPS = []\nDATABASES = {}\n",
		"mysite/urls.py": "from django.http import HttpResponse\nfrom django.urls import path\n\n" +
			"urlpatterns = [path('health', lambda request: HttpResponse('ok'))]\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

// TestRenderedCommandServes runs the command init writes, as devcluster up
// would (sh -c in the project directory, PORT set), with the real framework,
// and checks that the health path answers.
func TestRenderedCommandServes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Flask and Django servers")
	}
	tests := []struct {
		name    string
		python  string
		module  string // what the interpreter must import
		files   map[string]string
		opts    RenderOptions // Python is the python field when unset
		install string
	}{
		{"flask", "python3", "flask", map[string]string{"app.py": flaskApp}, RenderOptions{}, "pip install flask (for python3 on PATH)"},
		{"django", "/usr/bin/python3", "django", djangoServed(nil), RenderOptions{}, "apt-get install -y python3-django"},
		{"django asgi.py on uvicorn", "/usr/bin/python3", "django, uvicorn", djangoServed(map[string]string{"mysite/asgi.py": djangoASGI}), RenderOptions{ASGI: true}, "apt-get install -y python3-django python3-uvicorn"},
		{"fastapi on uvicorn", "/usr/bin/python3", "fastapi, uvicorn", map[string]string{"main.py": fastapiApp}, RenderOptions{}, "apt-get install -y python3-fastapi python3-uvicorn"},
		{"fastapi factory on uvicorn", "/usr/bin/python3", "fastapi, uvicorn", map[string]string{
			"main.py": "from fastapi import FastAPI\n\ndef create_app():\n    app = FastAPI()\n    app.get('/health')(lambda: 'ok')\n    return app\n"}, RenderOptions{}, "apt-get install -y python3-fastapi python3-uvicorn"},
		{"starlette on hypercorn", "/usr/bin/python3", "starlette, hypercorn", map[string]string{
			"requirements.txt": "hypercorn\n",
			"asgi.py": "from starlette.applications import Starlette\nfrom starlette.responses import PlainTextResponse\nfrom starlette.routing import Route\n\n" +
				"application = Starlette(routes=[Route('/health', lambda request: PlainTextResponse('ok'))])\n"}, RenderOptions{}, "apt-get install -y python3-starlette python3-hypercorn"},
		{"fastapi on daphne", "/usr/bin/python3", "fastapi, daphne", map[string]string{"main.py": fastapiApp, "requirements.txt": "daphne\n"}, RenderOptions{}, "apt-get install -y python3-fastapi python3-daphne"},
		{"fastapi on gunicorn with uvicorn workers", "/usr/bin/python3", "fastapi, uvicorn, gunicorn", map[string]string{
			"main.py": fastapiApp, "requirements.txt": "uvicorn\ngunicorn\n"}, RenderOptions{Python: "/usr/bin/python3"}, "apt-get install -y python3-fastapi python3-uvicorn gunicorn"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := exec.Command(tt.python, "-c", "import "+tt.module).Run(); err != nil {
				tstest.MissingTool(t, fmt.Sprintf("%s cannot import %s (%v); a Python module", tt.python, tt.module, err), tt.install)
			}
			dir := layout(t, tt.files)
			p, err := Detect(dir)
			if err != nil {
				t.Fatal(err)
			}
			opts := tt.opts
			if opts.Python == "" {
				opts.Python = tt.python
			}
			if err := Validate(p, opts); err != nil {
				t.Fatal(err)
			}
			m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(Render(p, opts)))
			if err != nil {
				t.Fatal(err)
			}
			web := m.Process("web")
			port := servePortBase + i
			cmd := exec.Command("sh", "-c", web.Command)
			cmd.Dir = dir
			cmd.Env = append(cmd.Environ(), "PORT="+strconv.Itoa(port), "PYTHONUNBUFFERED=1")
			for k, v := range web.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out tstest.Buffer // written by exec's copying goroutines
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group: sh and python
				cmd.Wait()
			})
			url := "http://127.0.0.1:" + strconv.Itoa(port) + web.Health.Path
			var body string
			ok := tstest.Poll(30*time.Second, func() bool {
				resp, err := http.Get(url)
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				body = string(b)
				return resp.StatusCode == http.StatusOK
			})
			if !ok {
				t.Fatalf("command %q: GET %s never answered 200; output:\n%s", web.Command, url, out.String())
			}
			if !strings.Contains(body, "ok") {
				t.Errorf("got body %q, want ok", body)
			}
		})
	}
}
