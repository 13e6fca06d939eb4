package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOversizedAndMalformedRequestsStopAtTheProxy: a 100 KB URI, 1,000
// headers, a 70 KB header, HTTP/1.1 without Host, HTTP/1.0 with
// Transfer-Encoding (whose body was read as the next request), CONNECT and "*"
// used to reach the app. The proxy answers them itself, as nginx does, and
// closes the connection.
func TestOversizedAndMalformedRequestsStopAtTheProxy(t *testing.T) {
	t.Parallel()
	var reached atomic.Int64
	tp := startProxy(t, Config{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) { reached.Add(1) })
	tp.Enable("web.1", b.Addr)
	manyFields := strings.Repeat("X-A: 1\r\n", 1000)
	for _, tt := range []struct {
		name, raw string
		want      int
		body      string
	}{
		{"100 KB URI", "GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request line longer than 8192 bytes"},
		{"1000 header fields", "GET / HTTP/1.1\r\nHost: a\r\n" + manyFields + "\r\n", 431, "more than 100 header fields"},
		{"70 KB header", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", 431, "request header is larger than 65536 bytes"},
		{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, "without a Host header"},
		{"HTTP/1.0 with Transfer-Encoding", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.0\r\n\r\n", 400, "Transfer-Encoding in an HTTP/1.0 request"},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405, "CONNECT is not supported"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request target * is not forwarded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawResponse(t, tp.Addr, tt.raw)
			if resp.StatusCode != tt.want || !strings.Contains(body, tt.body) {
				t.Errorf("got %d %q, want %d saying %q", resp.StatusCode, body, tt.want, tt.body)
			}
			if !resp.Close {
				t.Errorf("got the connection kept open, want it closed")
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d of those requests reached the app, want none", n)
	}
	// Within the limits, the same kinds of request pass.
	resp, _ := rawResponse(t, tp.Addr, "GET /"+strings.Repeat("a", 8000)+" HTTP/1.1\r\nHost: a\r\n"+strings.Repeat("X-A: 1\r\n", 98)+"\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("a request at the limits: got %d, want 200", resp.StatusCode)
	}
}

// TestRequestLimitsConfigurable: the limits are Config's, and negative turns
// the request-line and field-count limits off.
func TestRequestLimitsConfigurable(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{MaxRequestLine: 64, MaxHeaderFields: -1, MaxHeaderBytes: 1 << 20})
	startWeb(t, tp, 1)
	resp, body := rawResponse(t, tp.Addr, "GET /"+strings.Repeat("a", 64)+" HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp.StatusCode != 414 || !strings.Contains(body, "longer than 64 bytes") {
		t.Errorf("got %d %q, want 414 at 64 bytes", resp.StatusCode, body)
	}
	if resp, body := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: a\r\n"+strings.Repeat("X-A: 1\r\n", 1000)+"\r\n"); resp.StatusCode != 200 {
		t.Errorf("1000 fields with MaxHeaderFields -1: got %d %q, want 200", resp.StatusCode, body)
	}
}

// TestErrorBodiesHideRawBytes: the proxy's error pages name the instance and the
// cause but no longer echo the bytes of a malformed head (a client's into its
// own page, an instance's into every client's).
func TestErrorBodiesHideRawBytes(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	tp.Enable("web.1", rawServer(t, "HTTP/1.1 2x0 SECRET-FROM-THE-APP\r\n\r\n"))
	resp, body := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp.StatusCode != 502 || !strings.Contains(body, "web.1 (") || !strings.Contains(body, "malformed response head: malformed HTTP status code") {
		t.Errorf("got %d %q, want 502 naming web.1 and the cause", resp.StatusCode, body)
	}
	if strings.Contains(body, "SECRET") || strings.Contains(body, "2x0") {
		t.Errorf("got %q, want none of the instance's bytes", body)
	}
	resp, body = rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: a\r\nX-Token <script>alert(1)</script>\r\n\r\n")
	if resp.StatusCode != 400 || !strings.Contains(body, "malformed request head: malformed MIME header: missing colon") {
		t.Errorf("got %d %q, want 400 with the cause", resp.StatusCode, body)
	}
	if strings.Contains(body, "script") {
		t.Errorf("got %q, want none of the request's bytes", body)
	}
}
