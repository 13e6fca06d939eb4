package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// sseHandler sends an event whenever next gets a value, until the client goes
// away; ended is closed then.
func sseHandler(next <-chan string, ended chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case ev := <-next:
				fmt.Fprintf(w, "data: %s\n\n", ev)
				if err := http.NewResponseController(w).Flush(); err != nil {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	})
}

func TestLocalHandlerStreamsSSE(t *testing.T) {
	t.Parallel()
	next := make(chan string)
	ended := make(chan struct{})
	var log requestLog
	tp := startProxy(t, Config{Local: sseHandler(next, ended), OnRequest: log.record})
	var appHits atomic.Int64
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		appHits.Add(1)
		io.WriteString(w, "app")
	})
	tp.Enable("web.1", b.Addr)

	conn, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /_devcluster/events HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("got %d %v, want 200 text/event-stream with an X-Request-Id", resp.StatusCode, resp.Header)
	}
	for _, ev := range []string{"one", "two"} {
		next <- ev // each event must reach the client before the next is sent
		line, err := bufio.NewReader(io.LimitReader(resp.Body, int64(len("data: \n\n")+len(ev)))).ReadString('\n')
		if err != nil || line != "data: "+ev+"\n" {
			t.Fatalf("got %q, %v; want the event %q at once", line, err, ev)
		}
	}
	conn.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's request context did not end when the client went away")
	}
	if n := appHits.Load(); n != 0 {
		t.Errorf("the app saw %d requests, want 0", n)
	}
	if got := log.all(); len(got) != 0 {
		t.Errorf("OnRequest heard of %d local requests, want none", len(got))
	}
}

// A keep-alive connection carries local and app requests alike, each to its own.
func TestLocalAndAppOnOneConnection(t *testing.T) {
	t.Parallel()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "local %s %s %s", r.Method, r.URL.Path, body)
	})
	tp := startProxy(t, Config{Local: local, LocalPrefix: "/_dc/"})
	startWeb(t, tp, 1)
	c := newClient(t)
	c.Jar, _ = cookiejar.New(nil)
	for i, tt := range []struct{ method, path, body, want string }{
		{"GET", "/_dc/", "", "local GET /_dc/ "},
		{"GET", "/", "", "web.1"},
		{"POST", "/_dc/action", "kill", "local POST /_dc/action kill"},
		{"GET", "/_dc", "", "local GET /_dc "},
		{"GET", "/_dcx", "", "web.1"},
	} {
		req, _ := http.NewRequest(tt.method, tp.URL+tt.path, strings.NewReader(tt.body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tt.want || resp.StatusCode != 200 {
			t.Errorf("%d: %s %s: got %d %q, want 200 %q", i, tt.method, tt.path, resp.StatusCode, got, tt.want)
		}
	}
	tstest.WaitFor(t, time.Second, "every request on one client connection", func() bool {
		tp.connMu.Lock()
		defer tp.connMu.Unlock()
		return len(tp.conns) == 1
	})
}

// A handler that writes nothing answers 200 with an empty body; one that
// panics closes the connection and the proxy goes on.
func TestLocalHandlerEdges(t *testing.T) {
	t.Parallel()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_devcluster/panic":
			panic("boom")
		case "/_devcluster/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/_devcluster/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}
	})
	tp := startProxy(t, Config{Local: local})
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/_devcluster/", 200, ""},
		{"/_devcluster/nocontent", 204, ""},
		{"/_devcluster/length", 200, "hello"},
	} {
		resp, body := rawResponse(t, tp.Addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp.StatusCode != tt.status || body != tt.body {
			t.Errorf("%s: got %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
	}
	conn, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /_devcluster/panic HTTP/1.1\r\nHost: a\r\n\r\n")
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("after a panic: read %d bytes, want the connection closed", n)
	}
	if !strings.Contains(tp.log.String(), "panicked: boom") {
		t.Errorf("log %q, want the panic", tp.log.String())
	}
	if resp, _ := rawResponse(t, tp.Addr, "GET /_devcluster/length HTTP/1.1\r\nHost: a\r\n\r\n"); resp.StatusCode != 200 {
		t.Errorf("after a panic: got %d, want 200", resp.StatusCode)
	}
}

func TestLocalPrefixMustBeAPath(t *testing.T) {
	t.Parallel()
	for _, pre := range []string{"_devcluster/", "/"} {
		if _, err := New(Config{Local: http.NotFoundHandler(), LocalPrefix: pre}); err == nil || !strings.Contains(err.Error(), "want a path under /") {
			t.Errorf("LocalPrefix %q: got %v, want an error saying what a prefix must be", pre, err)
		}
	}
}
