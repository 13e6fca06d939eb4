package enginetest

import (
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// flaskManifest is the Flask example's Procfile.example line with a health
// path, on port's balancer; sticky adds HAProxy's cookie.
func flaskManifest(port int, sticky bool) string {
	m := "processes:\n  web:\n    command: python3 -m flask --app app run --no-reload --port $PORT\n" +
		"    health:\n      path: /health\n      timeout: 2s\n" +
		"proxy:\n  listen: 127.0.0.1:" + strconv.Itoa(port) + "\n"
	if sticky {
		m += "  sticky: cookie\n"
	}
	return m
}

// djangoApp copies the Django example (manage.py and the demo package).
func djangoApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Procfile", "manage.py", "demo/__init__.py", "demo/settings.py", "demo/urls.py", "demo/views.py"} {
		data, err := os.ReadFile(filepath.Join("../../examples/django", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), string(data))
	}
	return dir
}

// TestComposeRoundTrip (issue 19, done-when 1 and 2) runs the export of
// -m web=3 with --dockerfile --base-image under docker-compose up -d --build:
// 30 requests through the published balancer port are spread 10/10/10 over
// the three containers, each named by its own answer; after docker kill of
// one replica, 30 more requests all succeed (the balancer's check and retry
// take it out); docker-compose down leaves no container, network or volume.
// With HAProxy and the sticky cookie, one client stays on one replica for 20
// requests while a client without cookies is spread. The same with nginx, and
// with the Django example, which the Dockerfile serves with gunicorn.
func TestComposeRoundTrip(t *testing.T) {
	t.Parallel()
	docker := needEngine(t)
	compose := tstest.NeedTool(t, "docker-compose", "apt-get install docker-compose")
	base := baseImage(t)
	dc := devcluster(t)
	cases := []struct {
		name, balancer string
		port           int
		sticky         bool
		app            func(t *testing.T) (dir, manifest string)
	}{
		{"flask-haproxy-sticky", "haproxy", portComposeHAProxy, true, func(t *testing.T) (string, string) {
			return flaskApp(t, flaskManifest(portComposeHAProxy, true)), "devcluster.yaml"
		}},
		{"flask-nginx", "nginx", portComposeNginx, false, func(t *testing.T) (string, string) {
			return flaskApp(t, flaskManifest(portComposeNginx, false)), "devcluster.yaml"
		}},
		{"django-gunicorn", "haproxy", portComposeDjango, false, func(t *testing.T) (string, string) {
			return djangoApp(t), "Procfile"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, manifest := tc.app(t)
			name := runName("c")
			out := t.TempDir()
			args := []string{"export", "compose", "-f", manifest, "-m", "web=3", "--app", name,
				"--dockerfile", "--base-image", base, "--balancer-image", base, "--balancer", tc.balancer,
				"--listen", "127.0.0.1:" + strconv.Itoa(tc.port), "-o", out}
			run(t, dir, dc, args...)
			project := []string{"-p", name, "-f", "compose.yaml"}
			t.Cleanup(func() {
				try(out, compose, append(project, "down", "-v", "--remove-orphans", "-t", "3")...)
				removeImages(docker, name)
			})
			start := time.Now()
			run(t, out, compose, append(project, "up", "-d", "--build")...)
			waitInstances(t, tc.port, 3, 2*time.Minute)
			t.Logf("up and balanced in %s", time.Since(start).Round(time.Millisecond))

			counts, _, failed := tally(client(), tc.port, 30)
			t.Logf("30 requests: %v (%s)", counts, shares(counts))
			if len(failed) > 0 || len(counts) != 3 || shares(counts) != "10/10/10" {
				t.Errorf("30 requests through %s: spread %v, failed %v; want 10/10/10 over 3 containers, none failed", tc.balancer, counts, failed)
			}
			if tc.sticky {
				checkSticky(t, tc.port)
			}

			ids := strings.Fields(run(t, "", docker, "ps", "-q", "--filter", "label=com.docker.compose.project="+name,
				"--filter", "label=com.docker.compose.service=web"))
			if len(ids) != 3 {
				t.Fatalf("docker ps: %d web containers, want 3: %v", len(ids), ids)
			}
			run(t, "", docker, "kill", ids[0])
			counts, _, failed = tally(client(), tc.port, 30)
			t.Logf("after docker kill %s: %v (%s), %d failed", ids[0], counts, shares(counts), len(failed))
			if len(failed) > 0 {
				t.Errorf("after docker kill of one replica, %d of 30 requests failed: %v", len(failed), failed)
			}

			run(t, out, compose, append(project, "down", "-v", "-t", "3")...)
			if left := leftovers(docker, "com.docker.compose.project="+name); len(left) > 0 {
				t.Errorf("docker-compose down left %v", left)
			}
		})
	}
}

// checkSticky: a client that keeps HAProxy's cookie stays on one replica for
// 20 requests; a client that drops it is spread over more than one.
func checkSticky(t *testing.T, port int) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	sticky := client()
	sticky.Jar = jar
	counts, _, failed := tally(sticky, port, 20)
	if len(failed) > 0 || len(counts) != 1 {
		t.Errorf("a client with the cookie: %v, failed %v; want all 20 on one replica", counts, failed)
	}
	u, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	if cs := jar.Cookies(u.URL); len(cs) != 1 || cs[0].Name != "DEVCLUSTER_SRV" {
		t.Errorf("the client's cookies: %v, want DEVCLUSTER_SRV", cs)
	}
	other, _, failed := tally(client(), port, 20)
	if len(failed) > 0 || len(other) < 2 {
		t.Errorf("a client without the cookie: %v, failed %v; want it spread", other, failed)
	}
	t.Logf("sticky: with the cookie %v; without %v", counts, other)
}
