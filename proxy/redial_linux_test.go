package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// Instances that close every connection (Flask's development server): each
// request gets a connection of its own, made in the socket of the last one once
// the instance has closed it.
func TestCloseEveryConnection(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var mu sync.Mutex
	conns := map[string]int{} // instance → connections it accepted
	for _, id := range []string{"web.1", "web.2"} {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Connection", "close")
			io.WriteString(w, id+":"+string(body))
		}))
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				conns[id]++
				mu.Unlock()
			}
		}
		s.Start()
		t.Cleanup(s.Close)
		tp.Enable(id, s.Listener.Addr().String())
	}
	// One client connection, 40 requests, every other one a POST with a body.
	c, err := net.Dial("tcp", strings.TrimPrefix(tp.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	const n = 40
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", tp.URL+"/", nil)
		want := "web.1:"
		if i%2 == 1 {
			want = "web.2:"
		}
		if i%4 >= 2 {
			req, _ = http.NewRequest("POST", tp.URL+"/", strings.NewReader("body"))
			want += "body"
		}
		if err := req.Write(c); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, b, want)
		}
		if resp.Close {
			t.Fatalf("request %d: the proxy closed the client connection", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var redials uint64
	for _, id := range []string{"web.1", "web.2"} {
		st := statsOf(tp.Proxy, id)
		if conns[id] != n/2 || st.Connects != n/2 {
			t.Errorf("%s accepted %d connections, proxy opened %d; want %d each", id, conns[id], st.Connects, n/2)
		}
		redials += st.Redials
	}
	// The instance's FIN normally arrives before the next request does; a late
	// one means a new socket instead, so not every connection is a redial.
	if redials == 0 {
		t.Errorf("no connection reused a socket (connects %d)", n)
	}
	t.Logf("%d of %d connections were redials", redials, n)
}

// An instance that says "Connection: close" but keeps the connection open is
// not cut off: its socket is closed, not reused.
func TestCloseHeaderButConnectionKeptOpen(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var mu sync.Mutex
	var held []net.Conn // answered, and not closed until the test ends
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	addr := closingServer(t, func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
	})
	tp.Enable("web.1", addr)
	cl := newClient(t)
	for i := 0; i < 5; i++ {
		if code, _, body := get(t, cl, tp.URL+"/"); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	if st := statsOf(tp.Proxy, "web.1"); st.Connects != 5 || st.Redials != 0 {
		t.Errorf("connects %d, redials %d; want 5, 0", st.Connects, st.Redials)
	}
}

// Flask's development server closes its side some 10 ms after the response, by
// when the client's next request may have come: that connection is kept as a
// spare and its socket reused by a later dial, once the instance has closed.
func TestLateCloseSpareReused(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var closed atomic.Int64
	addr := closingServer(t, func(c net.Conn) {
		time.Sleep(10 * time.Millisecond) // the instance's lateness, not the test's wait
		c.Close()
		closed.Add(1)
	})
	tp.Enable("web.1", addr)
	cl := newClient(t)
	// Two requests back to back (the first one's connection is still open at the
	// second dial), then a pause until the instance has closed both, then more.
	for i := 0; i < 8; i++ {
		if code, _, body := get(t, cl, tp.URL+"/"); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
		if i%2 == 1 {
			tstest.WaitFor(t, 10*time.Second, fmt.Sprintf("the instance to close its %d connections", i+1),
				func() bool { return closed.Load() == int64(i+1) })
		}
	}
	st := statsOf(tp.Proxy, "web.1")
	if st.Connects != 8 || st.Redials < 5 {
		t.Errorf("connects %d, redials %d; want 8 connects, at least 5 in reused sockets (6 when every close comes in time)", st.Connects, st.Redials)
	}
	t.Logf("%d of %d connections were redials", st.Redials, st.Connects)
}
