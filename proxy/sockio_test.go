package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// sockPair returns a sockIO on one end of a loopback TCP connection and the other end.
func sockPair(t *testing.T) (*sockIO, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return newSockIO(c, rawConnOf(c)), peer
}

func TestSockIO(t *testing.T) {
	t.Parallel()
	t.Run("large write and read back", func(t *testing.T) {
		s, peer := sockPair(t)
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB: more than the socket buffers
		got := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(peer)
			got <- b
		}()
		if n, err := s.Write(data); n != len(data) || err != nil {
			t.Fatalf("write: got %d %v, want %d nil", n, err, len(data))
		}
		s.conn.(*net.TCPConn).CloseWrite()
		if b := <-got; !bytes.Equal(b, data) {
			t.Errorf("peer read %d bytes, want the %d written", len(b), len(data))
		}
		go func() { peer.Write(data); peer.Close() }()
		b, err := io.ReadAll(s)
		if err != nil || !bytes.Equal(b, data) {
			t.Errorf("read back: got %d bytes %v, want %d nil", len(b), err, len(data))
		}
	})
	t.Run("EOF when the peer closes", func(t *testing.T) {
		s, peer := sockPair(t)
		peer.Close()
		if n, err := s.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("got %d %v, want 0 EOF", n, err)
		}
	})
	t.Run("read deadline", func(t *testing.T) {
		s, _ := sockPair(t)
		s.conn.(net.Conn).SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := s.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
			t.Errorf("got %v, want a deadline error", err)
		}
	})
	t.Run("closed connection", func(t *testing.T) {
		s, _ := sockPair(t)
		s.conn.(net.Conn).Close()
		if _, err := s.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read: got %v, want net.ErrClosed", err)
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write: got %v, want net.ErrClosed", err)
		}
	})
	t.Run("write after the peer reset", func(t *testing.T) {
		s, peer := sockPair(t)
		peer.(*net.TCPConn).SetLinger(0)
		peer.Close()
		tstest.WaitFor(t, 5*time.Second, "a write error after the reset", func() bool {
			_, err := s.Write([]byte("x"))
			return err != nil
		})
	})
}
