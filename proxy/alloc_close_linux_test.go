package proxy

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawClosingBackend answers each connection's one request with "Connection:
// close" and closes it, as Flask's development server does, through blocking
// system calls that allocate nothing (no net.Conn per accept), so that
// allocations measured around a round trip are the proxy's.
func rawClosingBackend(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File() // a blocking duplicate
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	lfd := f.Fd()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		var buf [4096]byte
		for {
			fd, _, e := syscall.Syscall6(unix.SYS_ACCEPT4, lfd, 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			if e != 0 {
				if e == unix.EINTR || e == unix.ECONNABORTED {
					continue
				}
				return // the listener was shut down
			}
			n := 0
			for !headEnds(buf[:n]) && n < len(buf) {
				r, _, e := syscall.Syscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[n])), uintptr(len(buf)-n))
				if e != 0 || r == 0 {
					break
				}
				n += int(r)
			}
			syscall.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&resp[0])), uintptr(len(resp)))
			syscall.Syscall(unix.SYS_CLOSE, fd, 0, 0)
		}
	}()
	t.Cleanup(func() {
		unix.Shutdown(int(lfd), unix.SHUT_RDWR) // ends the blocked accept
		<-done
		f.Close()
	})
	return ln.Addr().String()
}

func headEnds(b []byte) bool {
	for i := 3; i < len(b); i++ {
		if b[i] == '\n' && b[i-1] == '\r' && b[i-2] == '\n' && b[i-3] == '\r' {
			return true
		}
	}
	return false
}

func closingProxy(t testing.TB) *rawClient {
	tp := startProxy(t, Config{})
	for i := 1; i <= 3; i++ {
		tp.Enable("web."+strconv.Itoa(i), rawClosingBackend(t))
	}
	c := newRawClient(t, tp.Addr)
	for i := 0; i < 20; i++ { // the spares
		if n, err := c.get(); err != nil || n != 5 {
			t.Fatalf("warm-up: got %d %v, want 5 bytes", n, err)
		}
	}
	return c
}

// BenchmarkProxyRawClose is BenchmarkProxyRaw with instances that close every
// connection after their response (Flask's development server): each request
// costs a new instance connection, in the socket of a closed one (redial).
func BenchmarkProxyRawClose(b *testing.B) {
	c := closingProxy(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, err := c.get(); err != nil || n != 5 {
			b.Fatalf("got %d %v, want 5 bytes", n, err)
		}
	}
}

// TestCloseAllocs: a request to an instance that closes each connection
// allocates nothing in the proxy when the connection goes into the socket of a
// closed one (redial), as nearly all do; it allocated a closure (and what it
// captured) for each RawConn.Control of the redial. A new socket, when the
// instance's close comes late, allocates its *os.File: hence an average, not 0.
func TestCloseAllocs(t *testing.T) {
	c := closingProxy(t)
	allocs := testing.AllocsPerRun(300, func() {
		if n, err := c.get(); err != nil || n != 5 {
			t.Fatalf("got %d %v, want 5 bytes", n, err)
		}
	})
	if allocs > 0.5 {
		t.Errorf("got %.2f allocations per proxied request to a closing instance, want at most 0.5", allocs)
	}
}
