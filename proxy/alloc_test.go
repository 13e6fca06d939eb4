package proxy

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rawBackend answers every request on every connection with a fixed response,
// allocating nothing per request, so that allocations measured around a round
// trip are the proxy's.
func rawBackend(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	connCh := make(chan net.Conn)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connCh <- c
			go func() {
				br := bufio.NewReader(c)
				resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
				for {
					if err := skipHead(br); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case c := <-connCh:
				conns = append(conns, c)
			case <-stop:
				for _, c := range conns {
					c.Close()
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(stop)
	})
	return ln.Addr().String()
}

// skipHead reads a message head up to its empty line.
func skipHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			return nil
		}
	}
}

// rawClient does keep-alive GETs on one connection without allocating.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
	body [64]byte
}

func newRawClient(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	return &rawClient{conn: conn, br: bufio.NewReader(conn), req: []byte("GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: raw\r\nAccept: */*\r\n\r\n")}
}

// get does one round trip and returns the length of the body.
func (c *rawClient) get() (int, error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	n := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			break
		}
		const cl = "Content-Length: "
		if len(line) > len(cl) && string(line[:len(cl)]) == cl {
			n = 0
			for _, b := range line[len(cl):] {
				if b >= '0' && b <= '9' {
					n = n*10 + int(b-'0')
				}
			}
		}
	}
	if n < 0 || n > len(c.body) {
		return 0, io.ErrUnexpectedEOF
	}
	_, err := io.ReadFull(c.br, c.body[:n])
	return n, err
}

// allocsPerGet dials the backend connections with a few requests, then
// returns the allocations of a round trip.
func (c *rawClient) allocsPerGet(t *testing.T) float64 {
	t.Helper()
	for i := 0; i < 10; i++ {
		if n, err := c.get(); err != nil || n != 5 {
			t.Fatalf("warm-up: got %d %v, want 5 bytes", n, err)
		}
	}
	return testing.AllocsPerRun(300, func() {
		if n, err := c.get(); err != nil || n != 5 {
			t.Fatalf("got %d %v, want 5 bytes", n, err)
		}
	})
}

// bench measures the client's round trips, after a few that dial the
// backend connections.
func (c *rawClient) bench(b *testing.B) {
	for i := 0; i < 10; i++ {
		c.get()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, err := c.get(); err != nil || n != 5 {
			b.Fatalf("got %d %v, want 5 bytes", n, err)
		}
	}
}

func TestKeepAliveZeroAllocs(t *testing.T) {
	tp := startProxy(t, Config{})
	for i := 1; i <= 3; i++ {
		tp.Enable("web."+strconv.Itoa(i), rawBackend(t))
	}
	c := newRawClient(t, tp.Addr)
	allocs := c.allocsPerGet(t)
	if allocs > 0 {
		t.Errorf("got %.2f allocations per proxied request, want 0", allocs)
	}
}

// BenchmarkProxyRaw is one keep-alive client through the proxy to three
// instances, all three speaking raw HTTP/1.1 without allocating, so that
// B/op and allocs/op are the proxy's own.
func BenchmarkProxyRaw(b *testing.B) {
	tp := startProxy(b, Config{})
	for i := 1; i <= 3; i++ {
		tp.Enable("web."+strconv.Itoa(i), rawBackend(b))
	}
	c := newRawClient(b, tp.Addr)
	c.bench(b)
}

// With an OnRequest hook, a request allocates only the strings the hook keeps:
// its path and its request id.
func TestKeepAliveAllocsWithOnRequest(t *testing.T) {
	tp := startProxy(t, Config{OnRequest: func(RequestInfo) {}})
	for i := 1; i <= 3; i++ {
		tp.Enable("web."+strconv.Itoa(i), rawBackend(t))
	}
	c := newRawClient(t, tp.Addr)
	allocs := c.allocsPerGet(t)
	if allocs > 2 {
		t.Errorf("got %.2f allocations per proxied request with OnRequest, want at most 2 (path and request id)", allocs)
	}
}

// BenchmarkProxyRawOnRequest is BenchmarkProxyRaw with an OnRequest hook that
// keeps the last request, the cost of per-request accounting.
func BenchmarkProxyRawOnRequest(b *testing.B) {
	var mu sync.Mutex
	var last RequestInfo
	tp := startProxy(b, Config{OnRequest: func(ri RequestInfo) {
		mu.Lock()
		last = ri
		mu.Unlock()
	}})
	for i := 1; i <= 3; i++ {
		tp.Enable("web."+strconv.Itoa(i), rawBackend(b))
	}
	c := newRawClient(b, tp.Addr)
	c.bench(b)
	mu.Lock()
	defer mu.Unlock()
	if last.Status != 200 {
		b.Errorf("the hook's last request: got status %d, want 200", last.Status)
	}
}
