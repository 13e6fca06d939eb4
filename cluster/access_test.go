package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fatih/color"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
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
			var cfg proxy.Config
			NewObservers(tt.pc, tt.accessFlag, nil).Configure(&cfg)
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
	got := AccessLine(controlRequest(ri))
	want := "12:00:01 proxy | GET /cart → web.3 200 12ms id=9f2c01ab-1f\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAccessLineSaysRetriedFrom: a retried request says from where, in up's
// access log and in `logs --access`, whose line comes back over the control
// socket as a control.Request (its JSON included) and is printed from it,
// by the same AccessLine.
func TestAccessLineSaysRetriedFrom(t *testing.T) {
	t.Parallel()
	ri := proxy.RequestInfo{Time: time.Date(2026, 12, 1, 12, 0, 2, 0, time.Local), Method: "GET", Path: "/cart",
		Instance: "web.2", Process: "web", Status: 200, Duration: 3100 * time.Microsecond, RequestID: "9f2c01ab-20",
		Decision: "retried from web.1: refused", Retries: 1}
	want := "12:00:02 proxy | GET /cart → web.2 200 3.1ms id=9f2c01ab-20 retried from web.1: refused\n"
	sent := controlRequest(ri)
	if got := AccessLine(sent); got != want {
		t.Errorf("up: got %q, want %q", got, want)
	}
	b, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	var r control.Request
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if got := AccessLine(r); got != want {
		t.Errorf("logs --access: got %q, want %q (from %s)", got, want, b)
	}
	back := r
	if !back.Time.Equal(ri.Time) {
		t.Errorf("round trip: time %v, want %v", back.Time, ri.Time)
	}
	back.Time = sent.Time
	if back != sent {
		t.Errorf("round trip lost fields:\ngot  %+v\nwant %+v", back, sent)
	}
	if got := (proxy.RequestInfo{Time: ri.Time, Instance: r.Instance, Process: r.Process, Method: r.Method, Path: r.Path,
		Status: r.Status, Duration: r.Duration, Upstream: r.Upstream, RequestID: r.RequestID, Decision: r.Decision,
		ErrorClass: r.ErrorClass, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Retries: r.Retries}); got != ri {
		t.Errorf("controlRequest lost fields:\ngot  %+v\nwant %+v", got, ri)
	}
}

// TestAccessLogColouredLikeInstance: with the supervisor's colours the line
// is painted in the colour of the instance that answered, whole and with its
// newline outside the escapes; without them (NO_COLOR, no terminal) and for a
// request no instance answered it is plain.
func TestAccessLogColouredLikeInstance(t *testing.T) {
	t.Parallel()
	ri := proxy.RequestInfo{Time: time.Date(2026, 12, 1, 12, 0, 1, 0, time.Local), Method: "GET", Path: "/cart",
		Instance: "web.3", Status: 200, Duration: 12 * time.Millisecond}
	plain := "12:00:01 proxy | GET /cart → web.3 200 12ms\n"
	yellow := color.New(color.FgYellow)
	yellow.EnableColor()
	colours := func(id string) *color.Color {
		if id == "web.3" {
			return yellow
		}
		return nil
	}
	tests := []struct {
		name    string
		colorOf func(string) *color.Color // nil: not set
		ri      proxy.RequestInfo
		want    string
	}{
		{"coloured", colours, ri, "\x1b[33m" + strings.TrimSuffix(plain, "\n") + "\x1b[0m\n"},
		{"supervisor without colour", func(string) *color.Color { return nil }, ri, plain},
		{"before the supervisor", nil, ri, plain},
		{"no instance", colours, proxy.RequestInfo{Time: ri.Time, Method: "GET", Path: "/", Status: 503, ErrorClass: "connect"},
			"12:00:01 proxy | GET / → - 503 0.0ms connect\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf tstest.Buffer
			o := NewObservers(procfile.ProxyConfig{DashboardOff: true}, true, &buf)
			if tt.colorOf != nil {
				o.colorOf.Store(&tt.colorOf)
			}
			o.onRequest(tt.ri)
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAccessFollowers: a follower gets each request from when it follows, a
// slow one is told how many it missed, and a cluster whose proxy has no
// request hook says how to get one instead of following silence.
func TestAccessFollowers(t *testing.T) {
	t.Parallel()
	o := NewObservers(procfile.ProxyConfig{}, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan control.Request)
	done := make(chan error, 1)
	go func() {
		done <- o.accessFollow(ctx, func(r control.Request) error { got <- r; return nil })
	}()
	tstest.WaitFor(t, 5*time.Second, "a follower", func() bool { return o.followers.hub.Subscribers() == 1 })
	o.onRequest(proxy.RequestInfo{Instance: "web.1", Path: "/a", Status: 200})
	if r := <-got; r.Instance != "web.1" || r.Path != "/a" || r.Status != 200 {
		t.Errorf("got %+v, want web.1's /a 200", r)
	}
	// The follower is stuck in out (got is not read): fill its buffer, then more.
	for range accessFollowBuffer + 3 {
		o.onRequest(proxy.RequestInfo{Instance: "web.2", Path: "/b", Status: 200})
	}
	for range accessFollowBuffer + 1 {
		<-got
	}
	o.onRequest(proxy.RequestInfo{Instance: "web.2", Path: "/c", Status: 200})
	if r := <-got; !strings.Contains(r.Decision, "2 requests dropped") {
		t.Errorf("after 2 dropped got %+v, want a marker saying so", r)
	}
	if r := <-got; r.Path != "/c" {
		t.Errorf("after the marker got %+v, want /c", r)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("follow ended with %v, want context.Canceled", err)
	}
	if n := o.followers.hub.Subscribers(); n != 0 {
		t.Errorf("%d followers left after the end", n)
	}

	off := NewObservers(procfile.ProxyConfig{DashboardOff: true}, false, nil)
	err := off.accessFollow(context.Background(), func(control.Request) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "--access-log") {
		t.Errorf("without a hook got %v, want an error naming --access-log", err)
	}
}

// TestAccessLogLine moved here from proxy with the formatter: the access log's
// lines are made from the control.Request that `logs --access` receives too.
func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 12, 0, 1, 0, time.Local)
	for _, tt := range []struct {
		r    control.Request
		want string
	}{
		{control.Request{Time: at, Method: "GET", Path: "/cart", Instance: "web.3", Status: 200, Duration: 12 * time.Millisecond},
			"12:00:01 GET /cart → web.3 200 12ms"},
		{control.Request{Time: at, Method: "GET", Path: "/", Instance: "web.2", Status: 200, Duration: 3140 * time.Microsecond, RequestID: "9f2c01ab-20", Decision: "retried from web.1: refused"},
			"12:00:01 GET / → web.2 200 3.1ms id=9f2c01ab-20 retried from web.1: refused"},
		{control.Request{Time: at, Method: "GET", Path: "/slow", Instance: "web.3", Status: 504, Duration: 30 * time.Second, ErrorClass: proxy.ErrorTimeout, RequestID: "a", Decision: "fault: timeout"},
			"12:00:01 GET /slow → web.3 504 30.0s timeout id=a fault: timeout"},
		{control.Request{Time: at, Method: "GET", Path: "/x", Status: 503, Duration: 5 * time.Second, ErrorClass: proxy.ErrorConnect},
			"12:00:01 GET /x → - 503 5.0s connect"},
		{control.Request{Time: at, Method: "GET", Path: "/y", Instance: "web.1", Duration: 400 * time.Microsecond, ErrorClass: proxy.ErrorReset},
			"12:00:01 GET /y → web.1 - 0.4ms reset"},
	} {
		if got := accessLogLine(tt.r); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
