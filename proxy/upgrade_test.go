package proxy

import (
	"net"
	"strings"
	"testing"
)

// TestUpgradeMismatchIsBadGateway: an instance that answers a WebSocket upgrade
// with 101 to another protocol, or to none, must not get a tunnel: the client
// asked for websocket and gets 502, as httputil.ReverseProxy answers.
func TestUpgradeMismatchIsBadGateway(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, upgrade string // the instance's Upgrade header; "" none
		want          int
	}{
		{"other protocol", "h2c", 502},
		{"no Upgrade header", "", 502},
		{"same protocol, other case", "WebSocket", 101},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := startProxy(t, Config{Retries: -1})
			raw := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			if tt.upgrade != "" {
				raw += "Upgrade: " + tt.upgrade + "\r\n"
			}
			tp.Enable("web.1", rawServer(t, raw+"\r\n"))
			resp, body := rawResponse(t, tp.Addr, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			if resp.StatusCode != tt.want {
				t.Fatalf("got %s, want %d", resp.Status, tt.want)
			}
			if tt.want == 502 && !strings.Contains(strings.ToLower(body), "switch") {
				t.Errorf("got body %q, want it to say what the instance switched to", body)
			}
		})
	}
}

// rawServer answers each connection's first request with the bytes resp, then
// closes the connection once the client has.
func rawServer(t testing.TB, resp string) string {
	t.Helper()
	return closingServerWith(t, resp, func(c net.Conn) {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				c.Close()
				return
			}
		}
	})
}
