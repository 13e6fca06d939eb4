package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/devcluster/devcluster/internal/tstest"
)

func TestHealthCheckToggle(t *testing.T) {
	t.Parallel()
	var bad atomic.Bool
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Health: HealthConfig{Path: "/health", Interval: 50 * time.Millisecond, Fall: 2, Rise: 2}})
	startWeb(t, tp, 1)
	b2 := startBackend(t, "web.2", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && bad.Load() {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "web.2")
	})
	tp.Enable("web.2", b2.Addr)
	c := newClient(t)

	bad.Store(true)
	start := time.Now()
	tstest.WaitFor(t, 5*time.Second, "web.2 down", func() bool { return statsOf(tp.Proxy, "web.2").State == "down" })
	t.Logf("down after %s (fall×interval = 100ms)", time.Since(start))
	if got, want := tp.log.String(), "web.2 is DOWN: GET /health → 500 (2/2 failures)\n"; got != want {
		t.Errorf("log: got %q, want %q", got, want)
	}
	if got := countInstances(t, c, tp.URL+"/", 6); got["web.2"] != 0 {
		t.Errorf("while down: got %v, want no request on web.2", got)
	}
	if s := statsOf(tp.Proxy, "web.2"); s.LastError != "GET /health → 500" {
		t.Errorf("last error: got %q, want %q", s.LastError, "GET /health → 500")
	}

	bad.Store(false)
	tstest.WaitFor(t, 5*time.Second, "web.2 up", func() bool { return statsOf(tp.Proxy, "web.2").State == "up" })
	if got := tp.log.String(); !strings.HasSuffix(got, "web.2 is UP: GET /health → 200 (2/2 successes)\n") {
		t.Errorf("log: got %q, want it to end with the UP line", got)
	}
	if got := countInstances(t, c, tp.URL+"/", 6); got["web.2"] != 3 {
		t.Errorf("after recovery: got %v, want web.2 back in rotation", got)
	}
}

func TestTCPHealthCheck(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Health: HealthConfig{Interval: 50 * time.Millisecond}})
	b := startWeb(t, tp, 1)[0]
	b.Close()
	tstest.WaitFor(t, 5*time.Second, "web.1 down", func() bool { return statsOf(tp.Proxy, "web.1").State == "down" })
	if got := tp.log.String(); !strings.HasPrefix(got, "web.1 is DOWN: connect "+b.Addr+": connection refused (2/2 failures)") {
		t.Errorf("log: got %q, want a TCP DOWN line", got)
	}
}

func TestStickyCookie(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Sticky: "cookie", CookieName: "SRV"})
	bs := startWeb(t, tp, 3)
	c := newClient(t)
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	got := countInstances(t, c, tp.URL+"/", 20)
	if len(got) != 1 {
		t.Fatalf("got %v, want 20 requests on one instance", got)
	}
	var stuck string
	for id := range got {
		stuck = id
	}
	bs[stuck[len(stuck)-1]-'1'].Close()
	code, inst, _ := get(t, c, tp.URL+"/")
	if code != 200 || inst == stuck {
		t.Fatalf("after closing %s: got %d from %q, want 200 from another instance", stuck, code, inst)
	}
	again := countInstances(t, c, tp.URL+"/", 5)
	if again[inst] != 5 {
		t.Errorf("after redispatch: got %v, want all on %s", again, inst)
	}
}

func TestStickyCookieIsIndirect(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Sticky: "cookie"})
	var seen atomic.Value
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Cookie"))
	})
	tp.Enable("web.1", b.Addr)
	req, _ := http.NewRequest("GET", tp.URL+"/", nil)
	req.Header.Set("Cookie", "a=1; DEVCLUSTER_SRV=web.1; b=2")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen.Load(); got != "a=1; b=2" {
		t.Errorf("instance saw Cookie %q, want %q", got, "a=1; b=2")
	}
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		t.Errorf("got Set-Cookie %q, want none when the cookie already names the instance", sc)
	}
}

func TestStickySource(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Sticky: "source"})
	bs := startWeb(t, tp, 3)
	c := newClient(t)
	got := countInstances(t, c, tp.URL+"/", 10)
	if len(got) != 1 {
		t.Fatalf("got %v, want one instance for one client IP", got)
	}
	for id := range got {
		bs[id[len(id)-1]-'1'].Close()
	}
	if code, _, _ := get(t, c, tp.URL+"/"); code != 200 {
		t.Errorf("after closing the sticky instance: got %d, want 200", code)
	}
}

func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for {
			typ, msg, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, append([]byte("echo "), msg...)); err != nil {
				return
			}
		}
	})
	tp.Enable("web.1", b.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+tp.Addr+"/ws", &websocket.DialOptions{HTTPClient: newClient(t)})
	if err != nil {
		t.Fatalf("dial through proxy: %v", err)
	}
	defer conn.CloseNow()
	if got := resp.Header.Get("X-Devcluster-Instance"); got != "web.1" {
		t.Errorf("instance header: got %q, want web.1", got)
	}
	for i := range 3 {
		msg := fmt.Sprintf("hello %d", i)
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		_, got, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(got) != "echo "+msg {
			t.Errorf("got %q, want %q", got, "echo "+msg)
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
	tstest.WaitFor(t, 5*time.Second, "tunnel closed", func() bool { return statsOf(tp.Proxy, "web.1").Active == 0 })
}

func TestSSEFlushedAtOnce(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	proceed := make(chan struct{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select { // the client must get the first event before this handler goes on
		case <-proceed:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: second\n\n")
	})
	tp.Enable("web.1", b.Addr)
	resp, err := newClient(t).Get(tp.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("got %q, %v; want the first event while the backend waits", line, err)
	}
	close(proceed)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest: got %q, want the second event", rest)
	}
}

func TestRetryDeadBackend(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 2)
	tp.Enable("web.3", deadAddr(t))
	got := countInstances(t, newClient(t), tp.URL+"/", 30)
	if got["web.1"]+got["web.2"] != 30 {
		t.Errorf("got %v, want all 30 answered by web.1 and web.2", got)
	}
	if s := statsOf(tp.Proxy, "web.3"); s.State != "down" || !strings.Contains(s.LastError, "connection refused") {
		t.Errorf("web.3: got state %q error %q, want down with connection refused", s.State, s.LastError)
	}
	if got := tp.log.String(); !strings.Contains(got, "web.3 is DOWN: connect ") || !strings.Contains(got, "(passive)") {
		t.Errorf("log: got %q, want a passive DOWN line", got)
	}
}

func TestDrainWaitsForInFlight(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	release := make(chan struct{})
	tp.Enable("web.1", holdingBackend(t, "web.1", release).Addr)
	startWeb2 := startBackend(t, "web.2", nil)
	tp.Enable("web.2", startWeb2.Addr)
	c := newClient(t)
	held := make(chan response, 1)
	go func() { held <- fetch(c, tp.URL+"/hold") }()
	tstest.WaitFor(t, 5*time.Second, "request in flight on web.1", func() bool { return statsOf(tp.Proxy, "web.1").Active == 1 })
	drained := make(chan error, 1)
	go func() { drained <- tp.Drain(context.Background(), "web.1") }()
	tstest.WaitFor(t, 5*time.Second, "web.1 draining", func() bool { return statsOf(tp.Proxy, "web.1").State == "draining" })
	if got := countInstances(t, c, tp.URL+"/", 4); got["web.2"] != 4 {
		t.Errorf("while draining: got %v, want all on web.2", got)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with a request in flight", err)
	default:
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if code := (<-held).must(t).code; code != 200 {
		t.Errorf("in-flight request: got %d, want 200", code)
	}
	if s := statsOf(tp.Proxy, "web.1").State; s != "drained" {
		t.Errorf("state: got %q, want drained", s)
	}
	tp.Enable("web.1", statsOf(tp.Proxy, "web.1").Addr)
	if got := countInstances(t, c, tp.URL+"/", 4); got["web.1"] != 2 {
		t.Errorf("after Enable: got %v, want web.1 back", got)
	}
}

func TestDrainContextDone(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	release := make(chan struct{})
	tp.Enable("web.1", holdingBackend(t, "web.1", release).Addr)
	c := newClient(t)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if resp, err := c.Get(tp.URL + "/hold"); err == nil {
			resp.Body.Close()
		}
	}()
	defer func() { close(release); <-finished }()
	tstest.WaitFor(t, 5*time.Second, "request in flight", func() bool { return statsOf(tp.Proxy, "web.1").Active == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tp.Drain(ctx, "web.1"); err == nil || !strings.Contains(err.Error(), "drain web.1") {
		t.Errorf("got %v, want a drain error from the done context", err)
	}
}

func TestWaitForBackend(t *testing.T) {
	t.Parallel()
	t.Run("enabled while waiting", func(t *testing.T) {
		tp := startProxy(t, Config{WaitForBackend: 10 * time.Second})
		b := startBackend(t, "web.1", nil)
		res := make(chan response, 1)
		c := newClient(t)
		go func() { res <- fetch(c, tp.URL+"/") }()
		pl := tp.processPool("web")
		tstest.WaitFor(t, 5*time.Second, "a waiting request", func() bool { return pl.waiting.Load() == 1 })
		tp.Enable("web.1", b.Addr)
		if r := (<-res).must(t); r.code != 200 || r.inst != "web.1" {
			t.Errorf("got %d %s, want 200 web.1", r.code, r.inst)
		}
	})
	t.Run("503 names the instances", func(t *testing.T) {
		tp := startProxy(t, Config{WaitForBackend: 50 * time.Millisecond})
		dead := deadAddr(t)
		tp.Enable("web.1", dead)
		b := startBackend(t, "web.2", nil)
		tp.Enable("web.2", b.Addr)
		if err := tp.Drain(context.Background(), "web.2"); err != nil {
			t.Fatal(err)
		}
		code, _, _ := get(t, newClient(t), tp.URL+"/")
		want := "503 Service Unavailable: no ready instance of web:\n  web.1 (" + dead + ") is down: connect " + dead + ": connection refused\n  web.2 (" + b.Addr + ") is drained\n"
		// The first attempt found web.1 refusing; the answer names it.
		if code != 503 && code != 502 {
			t.Fatalf("got %d, want 502 or 503", code)
		}
		code, _, body := get(t, newClient(t), tp.URL+"/")
		if code != 503 || body != want {
			t.Errorf("got %d %q, want 503 %q", code, body, want)
		}
	})
	t.Run("503 without instances", func(t *testing.T) {
		tp := startProxy(t, Config{WaitForBackend: 10 * time.Millisecond})
		code, _, body := get(t, newClient(t), tp.URL+"/")
		if code != 503 || body != "503 Service Unavailable: no instance of web is running\n" {
			t.Errorf("got %d %q, want 503 naming web", code, body)
		}
	})
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name     string
		cfg      Config
		path     string
		header   string
		wantCode int
		wantBody string
	}{
		{"504 on a slow instance", Config{ResponseTimeout: 100 * time.Millisecond}, "/hold", "", 504, "web.1 (ADDR): no response header within 100ms"},
		{"431 on a huge header", Config{MaxHeaderBytes: 1024}, "/", strings.Repeat("x", 8192), 431, "request header is larger than 1024 bytes"},
		{"404 outside every prefix", Config{}, "/other", "", 404, "no process is balanced under /other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools := []PoolConfig{{Process: "web"}}
			if tt.wantCode == 404 {
				pools[0].Prefix = "/app"
			}
			tp := startProxy(t, tt.cfg, pools...)
			b := holdingBackend(t, "web.1", release)
			tp.Enable("web.1", b.Addr)
			req, _ := http.NewRequest("GET", tp.URL+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("X-Big", tt.header)
			}
			resp, err := newClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := strings.ReplaceAll(tt.wantBody, "ADDR", b.Addr)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), want) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantCode, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want text/plain", ct)
			}
		})
	}
}

func TestBadGatewayAfterRetries(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Retries: -1, WaitForBackend: 10 * time.Millisecond})
	dead := deadAddr(t)
	tp.Enable("web.1", dead)
	code, _, body := get(t, newClient(t), tp.URL+"/")
	want := "502 Bad Gateway: web.1 (" + dead + "): connect " + dead + ": connection refused\n"
	if code != 502 || body != want {
		t.Errorf("got %d %q, want 502 %q", code, body, want)
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var got http.Header
	var host string
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		got, host = r.Header.Clone(), r.Host
		w.Header().Set("Connection", "X-Hop-Resp")
		w.Header().Set("X-Hop-Resp", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Kept", "yes")
	})
	tp.Enable("web.1", b.Addr)
	req, _ := http.NewRequest("GET", tp.URL+"/h", nil)
	req.Host = "example.test"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("Connection", "X-Hop-Req")
	req.Header.Set("X-Hop-Req", "1")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Proxy-Authorization", "secret")
	req.Header.Set("X-End", "kept")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checks := []struct{ name, got, want string }{
		{"Host", host, "example.test"},
		{"X-Forwarded-For", got.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"},
		{"X-Forwarded-Proto", got.Get("X-Forwarded-Proto"), "http"},
		{"X-Forwarded-Host", got.Get("X-Forwarded-Host"), "example.test"},
		{"X-Real-IP", got.Get("X-Real-Ip"), "127.0.0.1"},
		{"X-End", got.Get("X-End"), "kept"},
		{"request X-Hop-Req", got.Get("X-Hop-Req"), ""},
		{"request Te", got.Get("Te"), ""},
		{"request Proxy-Authorization", got.Get("Proxy-Authorization"), ""},
		{"response X-Devcluster-Instance", resp.Header.Get("X-Devcluster-Instance"), "web.1"},
		{"response X-Hop-Resp", resp.Header.Get("X-Hop-Resp"), ""},
		{"response Keep-Alive", resp.Header.Get("Keep-Alive"), ""},
		{"response X-Kept", resp.Header.Get("X-Kept"), "yes"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestRouteLongestPrefix(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web"}, PoolConfig{Process: "api", Prefix: "/api"})
	startWeb(t, tp, 1)
	tp.Enable("api.1", startBackend(t, "api.1", nil).Addr)
	tp.Enable("worker.1", deadAddr(t)) // no pool: ignored
	c := newClient(t)
	for path, want := range map[string]string{"/": "web.1", "/api": "api.1", "/api/x": "api.1", "/apix": "web.1"} {
		if _, inst, _ := get(t, c, tp.URL+path); inst != want {
			t.Errorf("%s: got %q, want %q", path, inst, want)
		}
	}
	if n := len(tp.Stats()); n != 2 {
		t.Errorf("stats: got %d instances, want 2", n)
	}
}

func TestRequestBodies(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d %s", r.Method, r.ContentLength, body)
	})
	tp.Enable("web.1", b.Addr)
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	tests := []struct {
		name   string
		body   io.Reader
		expect bool
		want   string
	}{
		{"content length", strings.NewReader("hello"), false, "POST 5 hello"},
		{"chunked", io.MultiReader(strings.NewReader("hel"), strings.NewReader("lo")), false, "POST -1 hello"},
		{"expect 100-continue", strings.NewReader("hello"), true, "POST 5 hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tp.URL+"/", tt.body)
			if tt.expect {
				req.Header.Set("Expect", "100-continue")
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConnectionCloseBackend(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	for i := 1; i <= 2; i++ {
		id := fmt.Sprintf("web.%d", i)
		b := startBackend(t, id, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, id)
		})
		tp.Enable(id, b.Addr)
	}
	got := countInstances(t, newClient(t), tp.URL+"/", 20)
	if got["web.1"] != 10 || got["web.2"] != 10 {
		t.Errorf("got %v, want 10 each", got)
	}
}

func TestStreamingLargeBodies(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	tp := startProxy(t, Config{})
	firstPart := make(chan struct{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/download":
			buf := make([]byte, 1<<20)
			w.Write(buf)
			w.(http.Flusher).Flush()
			select { // the client must see the first MiB before the rest is produced
			case <-firstPart:
			case <-r.Context().Done():
				return
			}
			for range size/len(buf) - 1 {
				w.Write(buf)
			}
		case "/upload":
			n, err := io.CopyN(io.Discard, r.Body, 1<<20)
			if err != nil {
				return
			}
			close(firstPart) // got the first MiB while the client still holds the rest
			m, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, n+m)
		}
	})
	tp.Enable("web.1", b.Addr)
	c := newClient(t)

	resp, err := c.Get(tp.URL + "/download")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatalf("first MiB: %v", err)
	}
	close(firstPart)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n+1<<20 != size {
		t.Fatalf("download: got %d bytes, %v; want %d", n+1<<20, err, size)
	}

	firstPart = make(chan struct{})
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 1<<20)
		pw.Write(chunk)
		<-firstPart
		for range size/len(chunk) - 1 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err = c.Post(tp.URL+"/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprint(size) {
		t.Errorf("upload: backend got %s bytes, want %d", body, size)
	}
}

func TestServeShutdown(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.AddPool(PoolConfig{Process: "web", Health: HealthConfig{Interval: 10 * time.Millisecond}})
	b := startBackend(t, "web.1", nil)
	p.Enable("web", "web.1", b.Addr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	c := newClient(t)
	if code, _, _ := get(t, c, "http://"+ln.Addr().String()+"/"); code != 200 {
		t.Fatalf("got %d, want 200", code)
	}
	// c keeps an idle keep-alive connection open; shutdown must close it.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after ctx was cancelled")
	}
	// Ask the listener itself: a dial to a closed loopback port in the
	// ephemeral range can connect to itself (source port = destination port),
	// which once made this test fail with the listener closed. A closed
	// listener's Accept says net.ErrClosed at once; an open one would wait
	// for the deadline.
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Serve returned: got %v, want net.ErrClosed (the listener still open)", err)
	}
}

func TestInstanceKilledUnderLoadNoFailures(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	bs := startWeb(t, tp, 3)
	c := newClient(t)
	const workers, perWorker = 8, 60
	var done, failed atomic.Int64
	var firstErr atomic.Value
	finished := make(chan struct{})
	for range workers {
		go func() {
			defer func() { finished <- struct{}{} }()
			for range perWorker {
				resp, err := c.Get(tp.URL + "/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(err, resp))
				}
				done.Add(1)
			}
		}()
	}
	tstest.WaitFor(t, 10*time.Second, "100 requests done", func() bool { return done.Load() >= 100 })
	bs[1].Listener.Close() // web.2 dies: refuses new connections, drops open ones
	bs[1].CloseClientConnections()
	for range workers {
		<-finished
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("got %d failed requests of %d (first: %v), want 0", n, workers*perWorker, firstErr.Load())
	}
}

// A POST (not replayable) must not be written on a keep-alive connection that the
// instance closed while it sat idle in the proxy's cache.
func TestStaleBackendConnNotReused(t *testing.T) {
	t.Parallel()
	tp := startProxyWith(t, Config{}, func(p *Proxy) { p.staleAfter = 0 })
	var closed atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s.Config.IdleTimeout = 50 * time.Millisecond
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}
	s.Start()
	defer s.Close()
	tp.Enable("web.1", s.Listener.Addr().String())
	c := newClient(t)
	for i := range 3 {
		resp, err := c.Post(tp.URL+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %d: got %d, want 200", i+1, resp.StatusCode)
		}
		tstest.WaitFor(t, 5*time.Second, "the instance to close the idle connection", func() bool { return closed.Load() == int64(i+1) })
	}
}
