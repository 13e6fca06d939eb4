package cluster

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/proxy"
)

// TestAccessLogEscapesControlAndBidi: a request path with a lone 0x9b,
// U+009B and U+202E was written as it came by --access-log and `logs
// --access` (both print AccessLine): an 8-bit terminal takes 0x9b for CSI, and
// U+202E makes the line read backwards. They are written as nginx writes
// them, \xHH per byte, a backslash as \x5C. The request goes through a real
// proxy, as the access log's lines do.
func TestAccessLogEscapesControlAndBidi(t *testing.T) {
	t.Parallel()
	got := make(chan proxy.RequestInfo, 1)
	p, err := proxy.New(proxy.Config{Log: io.Discard, OnRequest: func(ri proxy.RequestInfo) { got <- ri }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddPool(proxy.PoolConfig{Process: "web"}); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer app.Close()
	p.Enable("web", "web.1", strings.TrimPrefix(app.URL, "http://"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	path := "/a\x9bb\u009bc\u202ed\\x41"
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := AccessLine(controlRequest(<-got))
	for _, raw := range []string{"\x9b", "\u009b", "\u202e"} {
		if strings.Contains(line, raw) {
			t.Errorf("access log line %q holds %q unescaped", line, raw)
		}
	}
	if want := ` /a\x9Bb\xC2\x9Bc\xE2\x80\xAEd\x5Cx41 `; !strings.Contains(line, want) {
		t.Errorf("access log line %q: want the path written as%s", line, want)
	}
}
