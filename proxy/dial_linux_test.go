package proxy

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNewEndpoint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr   string
		family int // 0: left to net.Dialer
	}{
		{"127.0.0.1:5000", unix.AF_INET},
		{"[::1]:5000", unix.AF_INET6},
		{"[::ffff:127.0.0.1]:5000", unix.AF_INET},
		{"localhost:5000", 0},
		{"[fe80::1%lo]:5000", 0},
	} {
		ep := newEndpoint(tt.addr)
		if ep.family != tt.family || (ep.sa == nil) != (tt.family == 0) {
			t.Errorf("%s: family %d, sockaddr %v; want family %d", tt.addr, ep.family, ep.sa, tt.family)
		}
	}
}

func TestDialBackend(t *testing.T) {
	t.Parallel()
	p, err := New(Config{ConnectTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run("connects and carries bytes over "+network, func(t *testing.T) {
			host := "127.0.0.1:0"
			if network == "tcp6" {
				host = "[::1]:0"
			}
			ln, err := net.Listen(network, host)
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				io.Copy(c, c) // echo
			}()
			addrs := []string{ln.Addr().String()}
			if network == "tcp4" { // a host name goes through net.Dialer
				addrs = append(addrs, strings.Replace(addrs[0], "127.0.0.1", "localhost", 1))
			}
			for _, addr := range addrs {
				s, err := p.dialBackend(ctx, newEndpoint(addr))
				if err != nil {
					t.Fatalf("dial %s: %v", addr, err)
				}
				if strings.Contains(addr, "localhost") {
					s.Close()
					continue // the echo server took the first connection only
				}
				sio := newSockIO(s, rawConnOf(s))
				if _, err := sio.Write([]byte("ping")); err != nil {
					t.Fatalf("write: %v", err)
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(sio, buf); err != nil || string(buf) != "ping" {
					t.Fatalf("read back %q, %v; want ping", buf, err)
				}
				s.Close()
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		addr := deadAddr(t)
		_, err := p.dialBackend(ctx, newEndpoint(addr))
		if err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
		want := "connect " + addr + ": connection refused"
		if got := describeDialError(addr, err, p.cfg.ConnectTimeout); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if isTimeout(err) {
			t.Errorf("refused counted as a timeout: %v", err)
		}
	})

	t.Run("connect timeout", func(t *testing.T) {
		// A listener with a backlog of 0 that never accepts: once its queue is full
		// the kernel drops further SYNs, so the handshake never completes.
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		if err := unix.Listen(fd, 0); err != nil {
			t.Fatal(err)
		}
		sa, _ := unix.Getsockname(fd)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
		var timedOut error
		for i := 0; i < 8 && timedOut == nil; i++ {
			s, err := p.dialBackend(ctx, newEndpoint(addr))
			if err != nil {
				timedOut = err
				break
			}
			defer s.Close()
		}
		if timedOut == nil {
			t.Fatal("8 connects to a full backlog all succeeded")
		}
		if !isTimeout(timedOut) {
			t.Fatalf("got %v, want a timeout", timedOut)
		}
		want := "connect " + addr + ": no answer within 300ms"
		if got := describeDialError(addr, timedOut, p.cfg.ConnectTimeout); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

// testBackendConn is a backendConn on s, connected to ep, outside any client
// connection.
func testBackendConn(ep *endpoint, s sock) *backendConn {
	bc := newBackendConn(s)
	bc.ep = ep
	return bc
}

// waitTCPState polls the socket behind s until it reaches state.
func waitTCPState(t *testing.T, s sock, state uint8) {
	t.Helper()
	rc := rawConnOf(s)
	if rc == nil {
		t.Fatalf("%T has no RawConn", s)
	}
	var got uint8
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		rc.Control(func(fd uintptr) { got = tcpState(fd) })
		if got == state {
			return
		}
	}
	t.Fatalf("socket state %d, want %d", got, state)
}

func TestRedial(t *testing.T) {
	t.Parallel()
	p, err := New(Config{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Two instances: the first closes each connection at once (as Flask does
	// after its response), the second echoes.
	closer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := closer.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	echoed := make(chan net.Addr, 4)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			echoed <- c.RemoteAddr()
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()

	first := newEndpoint(closer.Addr().String())
	s, err := p.dialBackend(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	bc := testBackendConn(first, s)
	sio := bc.sio
	defer s.Close()
	var fdBefore uintptr
	sio.rc.Control(func(fd uintptr) { fdBefore = fd })

	t.Run("not while the instance holds the connection", func(t *testing.T) {
		hold, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Close()
		ep := newEndpoint(hold.Addr().String())
		hs, err := p.dialBackend(context.Background(), ep)
		if err != nil {
			t.Fatal(err)
		}
		defer hs.Close()
		waitTCPState(t, hs, 1) // ESTABLISHED, in the listener's queue
		ok, wait, err := p.redial(testBackendConn(ep, hs), first)
		if ok || !wait || err != nil {
			t.Fatalf("redial of an open connection: %v, %v, %v; want false, true (wait), nil", ok, wait, err)
		}
	})

	t.Run("not reusable: closed, not waited for", func(t *testing.T) {
		// A connection net.Dialer made (a host name), and one of another family.
		nc, err := p.dialBackend(context.Background(), newEndpoint(strings.Replace(closer.Addr().String(), "127.0.0.1", "localhost", 1)))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if ok, wait, err := p.redial(testBackendConn(first, nc), first); ok || wait || err != nil {
			t.Errorf("net.Dialer's connection: %v, %v, %v; want false, false, nil", ok, wait, err)
		}
		if ok, wait, err := p.redial(bc, newEndpoint("[::1]:1")); ok || wait || err != nil {
			t.Errorf("IPv4 socket to an IPv6 address: %v, %v, %v; want false, false, nil", ok, wait, err)
		}
	})

	waitTCPState(t, s, tcpCloseWait) // the instance closed its side
	ok, _, err := p.redial(bc, newEndpoint(echo.Addr().String()))
	if !ok || err != nil {
		t.Fatalf("redial: %v, %v; want true, nil", ok, err)
	}
	var fdAfter uintptr
	sio.rc.Control(func(fd uintptr) { fdAfter = fd })
	if fdAfter != fdBefore {
		t.Errorf("redial changed the descriptor: %d → %d", fdBefore, fdAfter)
	}
	select {
	case <-echoed:
	case <-time.After(5 * time.Second):
		t.Fatal("the second instance saw no connection")
	}
	if _, err := sio.Write([]byte("again")); err != nil {
		t.Fatalf("write after redial: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(sio, buf); err != nil || string(buf) != "again" {
		t.Fatalf("read after redial: %q, %v", buf, err)
	}

	t.Run("refused", func(t *testing.T) {
		s, err := p.dialBackend(context.Background(), first)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		waitTCPState(t, s, tcpCloseWait)
		dead := deadAddr(t)
		ok, _, err := p.redial(testBackendConn(first, s), newEndpoint(dead))
		if !ok || err == nil {
			t.Fatalf("redial to a closed port: %v, %v; want true and an error", ok, err)
		}
		if got, want := describeDialError(dead, err, time.Second), "connect "+dead+": connection refused"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
