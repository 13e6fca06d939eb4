package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestBadChunkClosesConnection: a chunked request body with a malformed chunk size
// must not reach the app as a whole body, nor let the bytes after it be read as the
// next request (request smuggling through bad framing): the client gets an error
// answer or a closed connection, and the app sees no /smuggled request.
func TestBadChunkClosesConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"size not hex", "zz\r\nhello\r\n0\r\n\r\n"},
		{"size overflows", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{"chunk longer than its size", "3\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var smuggled atomic.Int64
			tp := startProxy(t, Config{}, PoolConfig{Process: "web"})
			b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/smuggled" {
					smuggled.Add(1)
				}
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, "ok")
			})
			tp.Enable("web.1", b.Addr)
			c, err := net.Dial("tcp", tp.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+tc.body+
				"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			answers := 0
			for {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					break // closed: what must happen after a framing error
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answers++
				if resp.StatusCode == 200 {
					t.Errorf("got 200 for a request with a malformed chunked body, want an error")
				}
				if answers > 1 {
					t.Fatalf("got a second answer on the connection: the bytes after the bad chunk were read as a request")
				}
			}
			if n := smuggled.Load(); n != 0 {
				t.Errorf("the app received /smuggled %d times, want 0", n)
			}
		})
	}
}
