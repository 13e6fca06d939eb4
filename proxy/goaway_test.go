package proxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/devcluster/devcluster/internal/tstest"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// wsServer is an instance that accepts WebSocket upgrades, greets each client
// with a text frame naming itself (and a frame of big bytes when big is set,
// sent slowly in two halves), then reads until the connection ends.
func wsServer(t *testing.T, name string, big int, rest <-chan struct{}) string {
	t.Helper()
	up := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	return closingServerWith(t, up, func(c net.Conn) {
		defer c.Close()
		c.Write(wsFrame(0x1, []byte("hello from "+name)))
		if big > 0 {
			f := wsFrame(0x2, make([]byte, big))
			c.Write(f[:len(f)/2])
			<-rest // the test has started the drain inside the frame
			c.Write(f[len(f)/2:])
		}
		io.Copy(io.Discard, c)
	})
}

// wsFrame is an unmasked frame (a server's).
func wsFrame(op byte, payload []byte) []byte {
	f := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

// readFrame reads one unmasked frame: its opcode and payload.
func readFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return h[0] & 0x0f, p, err
}

// wsDial upgrades a connection through the proxy and returns it, its reader
// and the instance that answered.
func wsDial(t *testing.T, addr string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: got %s, want 101", resp.Status)
	}
	return conn, br, resp.Header.Get("X-Devcluster-Instance")
}

// TestDrainClosesWebSocketsGoingAway (issue 22 item 2): a WebSocket open on an
// instance being drained gets a close frame with 1001 at a frame boundary (a
// frame the instance is sending is relayed whole first), the drain ends
// without waiting for the client, and a client that reconnects is balanced to
// the instance still in rotation. Before, the drain waited for the tunnel to
// end until its timeout, and the client got no close frame.
func TestDrainClosesWebSocketsGoingAway(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		big  int // a frame in flight when the drain starts
	}{{"between frames", 0}, {"inside a frame", 100_000}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := startProxy(t, Config{Retries: -1})
			rest := make(chan struct{})
			tp.Enable("web.1", wsServer(t, "web.1", tt.big, rest))
			conn, br, inst := wsDial(t, tp.Addr)
			if inst != "web.1" {
				t.Fatalf("tunnel to %q, want web.1", inst)
			}
			if op, p, err := readFrame(br); err != nil || op != 0x1 || string(p) != "hello from web.1" {
				t.Fatalf("first frame: op %d %q %v", op, p, err)
			}
			tp.Enable("web.2", wsServer(t, "web.2", 0, nil))
			if tt.big > 0 {
				// The client has bytes of the big frame: the proxy is inside it
				// when the drain starts (it used to start before, by chance).
				if _, err := br.Peek(16); err != nil {
					t.Fatalf("the big frame's first bytes: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			drained := make(chan error, 1)
			go func() { drained <- tp.Drain(ctx, "web.1") }()
			if tt.big > 0 {
				tstest.WaitFor(t, 10*time.Second, "web.1 draining", func() bool { return statsOf(tp.Proxy, "web.1").State != "up" })
			}
			close(rest)
			op, p, err := readFrame(br)
			if tt.big > 0 {
				if err != nil || op != 0x2 || len(p) != tt.big {
					t.Fatalf("the frame in flight: op %d, %d bytes, %v; want it whole (op 2, %d bytes)", op, len(p), err, tt.big)
				}
				op, p, err = readFrame(br)
			}
			if err != nil || op != 0x8 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1001 {
				t.Fatalf("after the drain started: op %d payload %q err %v; want a close frame with 1001", op, p, err)
			}
			// The client does not answer the close frame: the drain ends anyway.
			if err := <-drained; err != nil {
				t.Fatalf("Drain: %v (it waited for the WebSocket)", err)
			}
			conn.Close()
			_, br2, inst := wsDial(t, tp.Addr)
			if inst != "web.2" {
				t.Errorf("the reconnect was tunnelled to %q, want web.2 (in rotation)", inst)
			}
			if op, p, err := readFrame(br2); err != nil || string(p) != "hello from web.2" {
				t.Errorf("after the reconnect: op %d %q %v", op, p, err)
			}
		})
	}
}
