package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// emfileListener fails its first n Accepts with EMFILE, as accept does when the
// process is out of descriptors.
type emfileListener struct {
	net.Listener
	n atomic.Int64
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptEMFILEKeepsServing: running out of file descriptors used to end
// Serve, and with it the whole cluster. Now accept backs off and the proxy
// answers once descriptors are free again.
func TestAcceptEMFILEKeepsServing(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	log := &tstest.Buffer{}
	p.cfg.Log = log
	p.AddPool(PoolConfig{Process: "web"})
	b := startBackend(t, "web.1", nil)
	p.Enable("web", "web.1", b.Addr)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &emfileListener{Listener: inner}
	ln.n.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	if code, _, body := get(t, newClient(t), "http://"+inner.Addr().String()+"/"); code != 200 || body != "web.1" {
		t.Errorf("after 5 EMFILE accepts: got %d %q, want 200 web.1", code, body)
	}
	if got := log.String(); strings.Count(got, "too many open files") != 1 {
		t.Errorf("log: got %q, want one line about too many open files", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v after EMFILE", err)
	default:
	}
}

// TestMaxConnWaitsInBacklog: beyond MaxConn open client connections the proxy
// accepts no more; a new one waits in the kernel's backlog and is served once
// another closes.
func TestMaxConnWaitsInBacklog(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{MaxConn: 2})
	startWeb(t, tp, 1)
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", tp.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		return c, bufio.NewReader(c)
	}
	read := func(br *bufio.Reader) int {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading a response: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	c1, br1 := open()
	_, br2 := open()
	read(br1)
	read(br2)
	_, br3 := open()
	answered := make(chan int, 1)
	go func() { answered <- read(br3) }()
	served := func() bool { tp.connMu.Lock(); defer tp.connMu.Unlock(); return len(tp.conns) > 2 }
	if tstest.Poll(200*time.Millisecond, served) {
		t.Fatal("a third connection was accepted with MaxConn 2")
	}
	c1.Close()
	if code := <-answered; code != 200 {
		t.Errorf("third connection after one closed: got %d, want 200", code)
	}
}

func TestIdleTimeoutDefault(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.IdleTimeout != 60*time.Second || p.cfg.MaxConn != 4096 {
		t.Errorf("got IdleTimeout %s, MaxConn %d; want 60s, 4096", p.cfg.IdleTimeout, p.cfg.MaxConn)
	}
}
