package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type testProxy struct {
	*Proxy
	URL  string
	Addr string
	log  *tstest.Buffer
}

// Enable enables instance id, taking its process from the ID ("web.2" → "web"), as
// the tests name every instance after its process.
func (tp *testProxy) Enable(id, addr string) {
	tp.Proxy.Enable(id[:strings.LastIndexByte(id, '.')], id, addr)
}

// processPool returns the pool of process, enabled or not.
func (tp *testProxy) processPool(process string) *pool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.byProc[process]
}

// startProxy serves a proxy with cfg and pools on a loopback port until the test ends.
func startProxy(t testing.TB, cfg Config, pools ...PoolConfig) *testProxy {
	t.Helper()
	return startProxyWith(t, cfg, nil, pools...)
}

// startProxyWith is startProxy with a hook that adjusts the Proxy before Serve.
func startProxyWith(t testing.TB, cfg Config, setup func(*Proxy), pools ...PoolConfig) *testProxy {
	t.Helper()
	logBuf := &tstest.Buffer{}
	if cfg.Log == nil {
		cfg.Log = logBuf
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(pools) == 0 {
		pools = []PoolConfig{{Process: "web"}}
	}
	for _, pc := range pools {
		if err := p.AddPool(pc); err != nil {
			t.Fatalf("AddPool: %v", err)
		}
	}
	if setup != nil {
		setup(p)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testProxy{Proxy: p, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), log: logBuf}
}

// backendServer is a loopback instance that names itself in its answers.
type backendServer struct {
	*httptest.Server
	Addr string
}

func startBackend(t testing.TB, name string, h http.HandlerFunc) *backendServer {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &backendServer{Server: s, Addr: strings.TrimPrefix(s.URL, "http://")}
}

// startWeb starts n named backends and enables them as web.1..web.n.
func startWeb(t testing.TB, tp *testProxy, n int) []*backendServer {
	t.Helper()
	var bs []*backendServer
	for i := 1; i <= n; i++ {
		id := "web." + string(rune('0'+i))
		b := startBackend(t, id, nil)
		tp.Enable(id, b.Addr)
		bs = append(bs, b)
	}
	return bs
}

func newClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// get returns status, instance header and body; it fails the test on an error, so
// it is for the test's goroutine only. A goroutine uses fetch.
func get(t testing.TB, c *http.Client, url string) (int, string, string) {
	t.Helper()
	r := fetch(c, url).must(t)
	return r.code, r.inst, r.body
}

// response is what fetch got: status, instance header and body, or the error.
type response struct {
	code       int
	inst, body string
	err        error
}

// fetch is get for a goroutine other than the test's: it returns the error with the
// response, for the test to check with must once it receives it (t.Fatal from the
// goroutine would end only the goroutine, and the test would hang on its result).
func fetch(c *http.Client, url string) response {
	resp, err := c.Get(url)
	if err != nil {
		return response{err: fmt.Errorf("GET %s: %w", url, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{err: fmt.Errorf("GET %s: read body: %w", url, err)}
	}
	return response{code: resp.StatusCode, inst: resp.Header.Get("X-Devcluster-Instance"), body: string(b)}
}

// must fails the test if the request failed, and returns r.
func (r response) must(t testing.TB) response {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

func statsOf(p *Proxy, id string) BackendStats {
	for _, s := range p.Stats() {
		if s.ID == id {
			return s
		}
	}
	return BackendStats{}
}

// deadAddr returns a loopback address on which nothing listens.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// closingServer answers one request per connection with "Connection: close" and
// a 2-byte body "ok", then hands the connection to after, which decides when (or
// whether) the server closes it. It returns the server's address.
func closingServer(t testing.TB, after func(net.Conn)) string {
	t.Helper()
	return closingServerWith(t, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", after)
}

// closingServerWith is closingServer answering with the raw bytes resp.
func closingServerWith(t testing.TB, resp string, after func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					c.Close()
					return
				}
				io.WriteString(c, resp)
				after(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// rawResponse sends the raw request bytes on a new connection to addr and returns
// the response with its body read (none for a 1xx).
func rawResponse(t testing.TB, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if resp.StatusCode < 200 {
		return resp, ""
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, string(body)
}
