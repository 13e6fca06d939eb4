package main

import (
	"testing"
	"time"

	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
)

// TestObserversFollowManifest: dashboard: false leaves the proxy's path to the
// app (no Local) and, without an access log, costs no per-request hook; a
// manifest prefix is where the page is served.
func TestObserversFollowManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pc         procfile.ProxyConfig
		accessFlag bool
		wantPrefix string // "" = no Local
		wantHook   bool
	}{
		{"default", procfile.ProxyConfig{}, false, "/_devcluster/", true},
		{"own prefix", procfile.ProxyConfig{DashboardPrefix: "/ops/"}, false, "/ops/", true},
		{"off", procfile.ProxyConfig{DashboardOff: true}, false, "", false},
		{"off, access log flag", procfile.ProxyConfig{DashboardOff: true}, true, "", true},
		{"off, access log in manifest", procfile.ProxyConfig{DashboardOff: true, AccessLog: true}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proj := &project{manifest: &procfile.Manifest{Proxy: tt.pc}}
			var cfg proxy.Config
			newObservers(proj, tt.accessFlag, nil).configure(&cfg)
			if got := cfg.LocalPrefix; got != tt.wantPrefix || (cfg.Local != nil) != (tt.wantPrefix != "") {
				t.Errorf("got Local %v at %q, want prefix %q", cfg.Local != nil, got, tt.wantPrefix)
			}
			if got := cfg.OnRequest != nil; got != tt.wantHook {
				t.Errorf("got OnRequest set %v, want %v", got, tt.wantHook)
			}
		})
	}
}

func TestAccessLineLooksLikeInstanceLines(t *testing.T) {
	t.Parallel()
	ri := proxy.RequestInfo{Time: time.Date(2026, 12, 1, 12, 0, 1, 0, time.Local), Method: "GET", Path: "/cart",
		Instance: "web.3", Status: 200, Duration: 12 * time.Millisecond, RequestID: "9f2c01ab-1f"}
	got := accessLine(ri)
	want := "12:00:01 proxy | GET /cart → web.3 200 12ms id=9f2c01ab-1f\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
