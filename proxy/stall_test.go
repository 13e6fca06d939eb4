package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestHungInstanceLeavesRotation: an instance that accepts connections but
// answers nothing (SIGSTOP: the kernel still completes handshakes, so the TCP
// check passes) leaves rotation by default within seconds; the request it holds
// is answered 504 at the response timeout and not replayed; new requests go to
// the others; it comes back once it answers again.
func TestHungInstanceLeavesRotation(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{ResponseTimeout: 4 * time.Second, Strategy: "first"})
	var hung atomic.Bool
	hung.Store(true)
	b1 := startScripted(t, "web.1", func(string) string {
		if hung.Load() {
			return "hang"
		}
		return ""
	})
	b2 := startScripted(t, "web.2", func(string) string { return "" })
	tp.Enable("web.1", b1.addr)
	tp.Enable("web.2", b2.addr)
	cl := newClient(t)
	held := make(chan response, 1)
	start := time.Now()
	go func() { held <- fetch(cl, tp.URL+"/") }() // strategy first: to web.1
	tstest.WaitFor(t, 10*time.Second, "web.1 down", func() bool { return statsOf(tp.Proxy, "web.1").State == "down" })
	t.Logf("web.1 out of rotation %s after the request it holds", time.Since(start).Round(time.Millisecond))
	if s := statsOf(tp.Proxy, "web.1"); !strings.Contains(s.LastError, "no response to 1 request for ") || !strings.Contains(s.LastError, "(hung or stopped?)") {
		t.Errorf("got last error %q, want it to say web.1 answers nothing", s.LastError)
	}
	if s := statsOf(tp.Proxy, "web.1"); s.LastCheckOK || s.LastCheckResult != "GET "+CheckPath+": no answer within 1s" {
		t.Errorf("got last check ok=%v %q, want the unanswered check", s.LastCheckOK, s.LastCheckResult)
	}
	for i := range 3 {
		if code, id, _ := get(t, cl, tp.URL+"/"); code != 200 || id != "web.2" {
			t.Errorf("request %d while web.1 hangs: got %d from %s, want 200 from web.2", i+1, code, id)
		}
	}
	if code := (<-held).must(t).code; code != http.StatusGatewayTimeout {
		t.Errorf("the request web.1 held: got %d, want 504", code)
	}
	hits := b1.hits.Load() // the held request and the confirming checks
	hung.Store(false)
	tstest.WaitFor(t, 10*time.Second, "web.1 up again", func() bool { return statsOf(tp.Proxy, "web.1").State == "up" })
	if got := tp.log.String(); !strings.Contains(got, "web.1 is UP: GET "+CheckPath+" → 200") {
		t.Errorf("log: got %q, want web.1 back up after answering the check", got)
	}
	if hits < 2 {
		t.Errorf("web.1 saw %d requests while hung, want the held one and a check", hits)
	}
}

// TestSlowRequestDoesNotEject: one slow request on an instance that still
// answers is no hang: the confirming check is answered and it stays in rotation.
func TestSlowRequestDoesNotEject(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{StallTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	var checks atomic.Int64
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == CheckPath {
			checks.Add(1)
			return
		}
		<-release
	})
	tp.Enable("web.1", b.Addr)
	done := make(chan response, 1)
	c := newClient(t)
	go func() { done <- fetch(c, tp.URL+"/slow") }()
	tstest.WaitFor(t, 10*time.Second, "a confirming check", func() bool { return checks.Load() > 0 })
	if st := statsOf(tp.Proxy, "web.1").State; st != "up" {
		t.Errorf("got %q while a slow request runs, want up", st)
	}
	close(release)
	if code := (<-done).must(t).code; code != 200 {
		t.Errorf("slow request: got %d, want 200", code)
	}
}

func TestIsCheckLogLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		want bool
	}{
		{`127.0.0.1 - - [01/Dec/2026 09:00:00] "GET ` + CheckPath + ` HTTP/1.1" 404 -`, true},
		{`127.0.0.1 - - [01/Dec/2026 09:00:00] "GET / HTTP/1.1" 200 -`, false},
	} {
		if got := IsCheckLogLine([]byte(tt.line)); got != tt.want {
			t.Errorf("IsCheckLogLine(%q): got %v, want %v", tt.line, got, tt.want)
		}
	}
}
