package proxy

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// idBackend answers with the X-Request-Id it got.
func idBackend(t *testing.T, tp *testProxy) {
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Request-Id"))
	})
	tp.Enable("web.1", b.Addr)
}

func TestRequestIDKeptOrGenerated(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record})
	idBackend(t, tp)
	c := newClient(t)
	generated := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]+$`)
	seen := map[string]bool{}
	for i, tt := range []struct {
		name, sent string
		kept       bool
	}{
		{"none", "", false},
		{"none again", "", false},
		{"valid", "abc-123_XYZ.42", true},
		{"200 bytes", strings.Repeat("a", 200), true},
		{"201 bytes", strings.Repeat("a", 201), false},
		{"not ASCII", "caf\xc3\xa9", false},
		{"space inside", "a b", false},
	} {
		req, _ := http.NewRequest("GET", tp.URL+"/", nil)
		if tt.sent != "" {
			req.Header.Set("X-Request-Id", tt.sent)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got, atInstance := resp.Header.Get("X-Request-Id"), string(body)
		if got != atInstance {
			t.Errorf("%s: the client got id %q, the instance %q; want the same", tt.name, got, atInstance)
		}
		switch {
		case tt.kept && got != tt.sent:
			t.Errorf("%s: got id %q, want the client's kept", tt.name, got)
		case !tt.kept && !generated.MatchString(got):
			t.Errorf("%s: got id %q, want a generated one", tt.name, got)
		case !tt.kept && seen[got]:
			t.Errorf("%s: generated id %q twice", tt.name, got)
		}
		seen[got] = true
		if ri := log.nth(t, i+1); ri.RequestID != got {
			t.Errorf("%s: reported id %q, want %q", tt.name, ri.RequestID, got)
		}
	}
}

func TestServerTimingOnResponses(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // the instance's own time, which upstream must include
		io.WriteString(w, "ok")
	})
	tp.Enable("web.1", b.Addr)
	resp, err := newClient(t).Get(tp.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st := resp.Header.Get("Server-Timing")
	m := regexp.MustCompile(`^upstream;dur=(\d+)\.\d, proxy;dur=\d+\.\d$`).FindStringSubmatch(st)
	if m == nil {
		t.Fatalf("got Server-Timing %q, want upstream;dur=N.N, proxy;dur=N.N", st)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 20 {
		t.Errorf("got upstream %s ms, want at least the instance's 20 ms", m[1])
	}
}

func TestAppendMillis(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0"},
		{-time.Millisecond, "0.0"},
		{40 * time.Microsecond, "0.0"},
		{50 * time.Microsecond, "0.1"},
		{12345 * time.Microsecond, "12.3"},
		{1500 * time.Millisecond, "1500.0"},
	} {
		if got := string(appendMillis(nil, tt.d)); got != tt.want {
			t.Errorf("appendMillis(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestOnRequestReportsEachRequest(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record, WaitForBackend: 100 * time.Millisecond})
	tp.Enable("web.1", deadAddr(t))
	b := startBackend(t, "web.2", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(append(body, "!"...))
	})
	tp.Enable("web.2", b.Addr)
	c := newClient(t)
	resp, err := c.Post(tp.URL+"/cart?x=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	ri := log.nth(t, 1)
	want := RequestInfo{
		Instance: "web.2", Process: "web", Method: "POST", Path: "/cart?x=1", Status: 200,
		RequestID: resp.Header.Get("X-Request-Id"), Decision: "retried from web.1: refused",
		BytesIn: 5, BytesOut: 6, Retries: 1,
	}
	got := ri
	got.Time, got.Duration, got.Upstream = time.Time{}, 0, 0
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if ri.Duration <= 0 || ri.Upstream <= 0 || ri.Upstream > ri.Duration || time.Since(ri.Time) > time.Minute {
		t.Errorf("got Time %v, Duration %v, Upstream %v; want a recent end and 0 < Upstream <= Duration", ri.Time, ri.Duration, ri.Upstream)
	}

	// web.1 is down since its refused connect; with web.2 gone none is ready.
	tp.Remove("web.2")
	get(t, c, tp.URL+"/")
	if ri := log.nth(t, 2); ri.ErrorClass != ErrorConnect || ri.Status != 503 || ri.Instance != "" || ri.Process != "web" {
		t.Errorf("with no instance ready: reported %q %q %d %q, want web's \"\" 503 connect", ri.Process, ri.Instance, ri.Status, ri.ErrorClass)
	}
}

// The hook sees the sticky decision.
func TestOnRequestSticky(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{Sticky: "source", OnRequest: log.record})
	startWeb(t, tp, 2)
	c := newClient(t)
	get(t, c, tp.URL+"/")
	get(t, c, tp.URL+"/")
	if first, second := log.nth(t, 1), log.nth(t, 2); first.Decision != "" || second.Decision != "sticky" {
		t.Errorf("got decisions %q, %q; want \"\" then \"sticky\"", first.Decision, second.Decision)
	}
}
