package scaffold

import (
	"bytes"
	"io"
	"net"
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
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRenderedCommandServes runs the command init writes, as devcluster up
// would (sh -c in the project directory, PORT set), with the real framework,
// and checks that the health path answers.
func TestRenderedCommandServes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Flask and Django servers")
	}
	tests := []struct {
		name   string
		python string
		module string // what the interpreter must import
		files  map[string]string
	}{
		{"flask", "python3", "flask", map[string]string{"app.py": flaskApp}},
		{"django", "/usr/bin/python3", "django", map[string]string{
			"manage.py":          djangoManage,
			"mysite/__init__.py": "",
			"mysite/settings.py": "SECRET_KEY = 'x'\nDEBUG = True\nALLOWED_HOSTS = ['*']\nROOT_URLCONF = 'mysite.urls'\nINSTALLED_APPS = []\nDATABASES = {}\n",
			"mysite/urls.py": "from django.http import HttpResponse\nfrom django.urls import path\n\n" +
				"urlpatterns = [path('health', lambda request: HttpResponse('ok'))]\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := exec.Command(tt.python, "-c", "import "+tt.module).Run(); err != nil {
				t.Skipf("%s cannot import %s: %v", tt.python, tt.module, err)
			}
			dir := layout(t, tt.files)
			p, err := Detect(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := procfile.ParseYAML("devcluster.yaml", bytes.NewReader(Render(p, RenderOptions{Python: tt.python})))
			if err != nil {
				t.Fatal(err)
			}
			web := m.Process("web")
			port := freePort(t)
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
