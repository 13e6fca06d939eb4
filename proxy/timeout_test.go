package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestStalledRequestBodyTimesOut: a head announcing 100 body bytes, 10 of them,
// then silence used to hold the client and the instance connection for ever.
// BodyTimeout answers 408 and closes both.
func TestStalledRequestBodyTimesOut(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{BodyTimeout: 100 * time.Millisecond})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	tp.Enable("web.1", b.Addr)
	c, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("got %v, want a 408 response", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "no request body bytes for 100ms") {
		t.Errorf("got %d %q, want 408 saying no body bytes came for 100ms", resp.StatusCode, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("got %v, want the connection closed", err)
	}
	tstest.WaitFor(t, 5*time.Second, "the instance connection released", func() bool { return statsOf(tp.Proxy, "web.1").Active == 0 })
}

// TestSlowBodyWithinTimeoutPasses: BodyTimeout is inactivity, not the whole
// upload: a body arriving in pieces, each within the timeout, goes through.
func TestSlowBodyWithinTimeoutPasses(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{BodyTimeout: 300 * time.Millisecond})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strings.Repeat("x", int(n)))
	})
	tp.Enable("web.1", b.Addr)
	pr, pw := io.Pipe()
	go func() {
		for range 6 {
			pw.Write([]byte("0123456789"))
			time.Sleep(100 * time.Millisecond) // the pace of a slow client, not a wait for a result
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", tp.URL+"/", pr)
	req.ContentLength = 60
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 60 {
		t.Errorf("got %d with %d bytes, want 200 with 60", resp.StatusCode, len(body))
	}
}

// TestClientThatNeverReadsTimesOut: a client that asks for 20 MB and reads
// nothing used to hold its instance connection for ever; ClientWriteTimeout
// closes it.
func TestClientThatNeverReadsTimesOut(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{ClientWriteTimeout: 100 * time.Millisecond})
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	tp.Enable("web.1", b.Addr)
	c, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	tstest.WaitFor(t, 10*time.Second, "the proxy to give up on the client", func() bool {
		s := statsOf(tp.Proxy, "web.1")
		return s.Requests == 1 && s.Active == 0
	})
}
