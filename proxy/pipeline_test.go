package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestPipelinedRequestsAnsweredInOrder: a client that writes three requests in one
// segment (HTTP/1.1 pipelining) gets three answers, in order, on the same connection,
// each from the path it asked for; none is lost or read as part of another's body.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web"})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.Path+":"+string(body))
	})
	tp.Enable("web.1", b.Addr)
	c, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	reqs := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz" +
		"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(c, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"/a:", "/b:xyz", "/c:"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer for %s: %v", want, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != want {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, got, want)
		}
	}
}
