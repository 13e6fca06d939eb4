package cluster

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/procfile"
)

// hostsManifest has web on app.localhost and api on api.localhost.
func hostsManifest(t *testing.T) *procfile.Manifest {
	t.Helper()
	const manifest = "proxy:\n  hosts:\n    app.localhost: web\n    api.localhost: api\n" +
		"processes:\n  web: a\n  api:\n    command: b\n    proxy: true\n"
	m, err := procfile.ParseYAML(filepath.Join(t.TempDir(), "devcluster.yaml"), strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDashboardDoorsWithHosts (issue 23 item 4): the dashboard answers under
// the hosts of proxy.hosts on the proxy's port, and still refuses every other
// Host (DNS rebinding), another port of a host included.
func TestDashboardDoorsWithHosts(t *testing.T) {
	t.Parallel()
	api := NewAPI(Config{Manifest: hostsManifest(t), Listen: "127.0.0.1:8080"})
	d, err := api.newDashboard(nil, DashboardAddr{Addr: "127.0.0.1:8080"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{
		"127.0.0.1:8080":      http.StatusOK,
		"localhost:8080":      http.StatusOK,
		"api.localhost:8080":  http.StatusOK,
		"APP.localhost:8080":  http.StatusOK,
		"evil.localhost:8080": http.StatusForbidden,
		"evil.example:8080":   http.StatusForbidden,
		"api.localhost:9090":  http.StatusForbidden,
		"api.localhost":       http.StatusForbidden,
	} {
		r := httptest.NewRequest(http.MethodGet, "http://"+host+dashboard.DefaultPrefix, nil)
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET with Host %s: got %d, want %d", host, w.Code, want)
		}
	}
	// A mutation from a host's own page passes the Host and Origin doors and
	// meets the token's; from an unlisted host, the Host door refuses it.
	for host, want := range map[string]string{
		"app.localhost:8080":  "missing or wrong dashboard token",
		"evil.localhost:8080": `Host "evil.localhost:8080" is not this dashboard's address`,
	} {
		r := httptest.NewRequest(http.MethodPost, "http://"+host+dashboard.DefaultPrefix+"api/action", strings.NewReader(`{"kind":"kill","target":"web.1"}`))
		r.Header.Set("Origin", "http://"+host)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
		if body, _ := io.ReadAll(w.Body); w.Code != http.StatusForbidden || !strings.Contains(string(body), want) {
			t.Errorf("POST with Host %s: got %d %q, want 403 saying %q", host, w.Code, body, want)
		}
	}
}

func TestDashboardSnapshotHasHosts(t *testing.T) {
	t.Parallel()
	dc, _, _, _ := newTestDashboardCluster(t)
	dc.hosts = dashboardHosts(hostsManifest(t), "127.0.0.1:8080", false)
	snap, err := dc.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []dashboard.Host{{Name: "app.localhost", Process: "web", URL: "http://app.localhost:8080"},
		{Name: "api.localhost", Process: "api", URL: "http://api.localhost:8080"}}
	if !reflect.DeepEqual(snap.Hosts, want) {
		t.Errorf("got hosts %+v, want %+v", snap.Hosts, want)
	}
}
