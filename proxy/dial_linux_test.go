package proxy

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNewEndpoint(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		family int // 0: left to net.Dialer
	}{
		{"127.0.0.1:5000", syscall.AF_INET},
		{"[::1]:5000", syscall.AF_INET6},
		{"[::ffff:127.0.0.1]:5000", syscall.AF_INET},
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
				sio := newSockIO(s)
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
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Listen(fd, 0); err != nil {
			t.Fatal(err)
		}
		sa, _ := syscall.Getsockname(fd)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
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
