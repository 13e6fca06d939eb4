package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func parseReq(raw string) (*reqHead, error) {
	h := &reqHead{}
	err := h.read(bufio.NewReaderSize(strings.NewReader(raw), 64))
	return h, err
}

func TestParseRequestHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		method  string
		uri     string
		path    string
		host    string
		cl      int64
		chunked bool
		close   bool
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "/", "a", -1, false, false},
		{"query", "GET /x/y?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/x/y?q=1", "/x/y", "a", -1, false, false},
		{"escaped path", "GET /a%20b?x HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/a%20b?x", "/a b", "a", -1, false, false},
		{"absolute form", "GET http://h.test/p?q HTTP/1.1\r\nHost: other\r\n\r\n", "GET", "/p?q", "/p", "h.test", -1, false, false},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", "GET", "/", "/", "a", -1, false, false},
		{"content length", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "POST", "/", "/", "", 5, false, false},
		{"equal content lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length:  5 \r\n\r\n", "POST", "/", "/", "", 5, false, false},
		{"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", "POST", "/", "/", "", -1, true, false},
		{"HTTP/1.0 ignores Transfer-Encoding", "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", "POST", "/", "/", "", -1, false, true},
		{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", "GET", "/", "/", "", -1, false, true},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", "/", "", -1, false, false},
		{"Connection close", "GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", "GET", "/", "/", "", -1, false, true},
		{"long header line", "GET / HTTP/1.1\r\nX-Long: " + strings.Repeat("v", 300) + "\r\n\r\n", "GET", "/", "/", "", -1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseReq(tt.raw)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			got := []any{string(h.method), string(h.uri), h.path, string(h.host), h.contentLength, h.chunked, h.close}
			want := []any{tt.method, tt.uri, tt.path, tt.host, tt.cl, tt.chunked, tt.close}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestParseRequestHeadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, raw, want string }{
		{"no spaces", "GET\r\n\r\n", "malformed HTTP request"},
		{"empty line first", "\r\nGET / HTTP/1.1\r\n\r\n", "malformed HTTP request"},
		{"bad method", "G@T / HTTP/1.1\r\n\r\n", "invalid method"},
		{"bad version", "GET / HTTP/1.10\r\n\r\n", "malformed HTTP version"},
		{"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", "missing colon"},
		{"space in name", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", "malformed MIME header line"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "malformed MIME header line"},
		{"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", "malformed MIME header line"},
		{"control byte in value", "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", "malformed MIME header line"},
		{"leading space on first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "initial line"},
		{"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "obsolete line folding"},
		{"conflicting Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "multiple Content-Length"},
		{"bad Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
		{"empty Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid empty Content-Length"},
		{"Content-Length too large", "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", "bad Content-Length"},
		{"Content-Length and chunked", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"},
		{"gzip transfer coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported transfer encoding"},
		{"two Transfer-Encoding lines", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "unsupported transfer encoding"},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "too many Host headers"},
		{"control byte in URI", "GET /a\x7fb HTTP/1.1\r\n\r\n", "invalid control character"},
		{"bad escape", "GET /%zz HTTP/1.1\r\n\r\n", "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseReq(tt.raw)
			var he *headError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a malformed-head error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseRequestHeadIncomplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"nothing", "", io.EOF},
		{"half a line", "GET / HT", io.ErrUnexpectedEOF},
		{"no empty line", "GET / HTTP/1.1\r\nHost: a\r\n", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseReq(tt.raw); err != tt.want {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHopByHopFieldsDropped(t *testing.T) {
	t.Parallel()
	h, err := parseReq("GET / HTTP/1.1\r\nConnection: X-Hop, keep-alive\r\nx-hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n" +
		"Proxy-Connection: x\r\nProxy-Authorization: s\r\nUpgrade: ws\r\nX-Kept: yes\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, f := range h.fields {
		if !f.dropped() {
			kept = append(kept, string(f.name))
		}
	}
	if got := strings.Join(kept, ","); got != "X-Kept" {
		t.Errorf("got kept %q, want X-Kept", got)
	}
	if h.connUpgrade || !h.connKeepAlive {
		t.Errorf("got upgrade %v keep-alive %v, want false true", h.connUpgrade, h.connKeepAlive)
	}
}

func TestParseResponseHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		head    bool
		code    int
		status  string
		cl      int64
		chunked bool
		noBody  bool
		close   bool
		wantErr string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false, 200, "200 OK", 3, false, false, false, ""},
		{"no reason", "HTTP/1.1 204\r\n\r\n", false, 204, "204", -1, false, true, false, ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", false, 200, "200 OK", -1, true, false, false, ""},
		{"until close", "HTTP/1.1 200 OK\r\n\r\n", false, 200, "200 OK", -1, false, false, true, ""},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, 200, "200 OK", 10, false, true, false, ""},
		{"304", "HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "304 Not Modified", -1, false, true, false, ""},
		{"1xx", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, 103, "103 Early Hints", -1, false, true, false, ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 200, "200 OK", 1, false, false, true, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", false, 200, "200 OK", 1, false, false, false, ""},
		{"Connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false, 200, "200 OK", 1, false, false, true, ""},
		{"bad code", "HTTP/1.1 20x OK\r\n\r\n", false, 0, "", 0, false, false, false, "malformed HTTP status code"},
		{"no space", "HTTP/1.1\r\n\r\n", false, 0, "", 0, false, false, false, "malformed HTTP response"},
		{"bad version", "HTTX/1.1 200 OK\r\n\r\n", false, 0, "", 0, false, false, false, "malformed HTTP version"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, 0, "", 0, false, false, false, "multiple Content-Length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &respHead{}
			err := h.read(bufio.NewReader(strings.NewReader(tt.raw)), tt.head)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			got := []any{h.code, string(h.status), h.contentLength, h.chunked, h.noBody, h.close}
			want := []any{tt.code, tt.status, tt.cl, tt.chunked, tt.noBody, tt.close}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

// FuzzParseRequestHead checks the lean parser against net/http: whatever it
// accepts, net/http accepts with the same meaning (it may reject more).
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /p?q HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET http://h/p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /%41 HTTP/1.1\r\nConnection: x, close\r\nX: 1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// With a 16-byte buffer (long lines read in pieces) and with all of the input
		// buffered before the parser looks: both must agree.
		h := &reqHead{}
		err := h.read(bufio.NewReaderSize(strings.NewReader(string(data)), 16))
		whole := &reqHead{}
		br := bufio.NewReaderSize(strings.NewReader(string(data)), len(data)+16)
		br.Peek(1)
		werr := whole.read(br)
		if (err == nil) != (werr == nil) {
			t.Fatalf("small buffer: %v; all buffered: %v", err, werr)
		}
		if err != nil {
			return
		}
		if string(h.method) != string(whole.method) || string(h.uri) != string(whole.uri) || len(h.fields) != len(whole.fields) {
			t.Errorf("small buffer %s %s (%d fields), all buffered %s %s (%d fields)", h.method, h.uri, len(h.fields), whole.method, whole.uri, len(whole.fields))
		}
		req, rerr := http.ReadRequest(bufio.NewReader(strings.NewReader(string(data))))
		if rerr != nil {
			t.Fatalf("lean parser accepted what net/http rejects (%v): %q", rerr, data)
		}
		if string(h.method) != req.Method || h.path != req.URL.Path || string(h.host) != req.Host {
			t.Errorf("got %s %q host %q, net/http %s %q host %q", h.method, h.path, h.host, req.Method, req.URL.Path, req.Host)
		}
		if h.major != req.ProtoMajor || h.minor != req.ProtoMinor || h.close != req.Close {
			t.Errorf("got HTTP/%d.%d close %v, net/http HTTP/%d.%d close %v", h.major, h.minor, h.close, req.ProtoMajor, req.ProtoMinor, req.Close)
		}
		wantCL := req.ContentLength
		if !h.chunked && h.contentLength < 0 {
			if wantCL != 0 {
				t.Errorf("got no body, net/http Content-Length %d", wantCL)
			}
		} else if h.contentLength != wantCL {
			t.Errorf("got Content-Length %d chunked %v, net/http %d", h.contentLength, h.chunked, wantCL)
		}
	})
}

// rawExchange sends raw to addr and returns the first response's status line.
func rawExchange(t *testing.T, addr, raw string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestMalformedRequestsAnswered400(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 1)
	tests := []struct{ name, raw, want string }{
		{"bad request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"header without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"Content-Length and chunked", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
		{"Expect other than 100-continue", "GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n", "HTTP/1.1 417 Expectation Failed"},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawExchange(t, tp.Addr, tt.raw); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeepAliveSemantics(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 1)
	tests := []struct {
		name      string
		req       string
		wantConn  string // the response's Connection header
		wantReuse bool
	}{
		{"HTTP/1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "", true},
		{"HTTP/1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "close", false},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "close", false},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "keep-alive", true},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", tp.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for i := 0; i < 2; i++ {
				io.WriteString(conn, tt.req)
				resp, err := http.ReadResponse(br, &http.Request{Method: strings.Fields(tt.req)[0]})
				if i == 1 {
					if reused := err == nil; reused != tt.wantReuse {
						t.Errorf("second request answered: got %v, want %v (%v)", reused, tt.wantReuse, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("first request: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				got := resp.Header.Get("Connection")
				if resp.Close {
					got = "close" // net/http takes it out of the header
				}
				if got != tt.wantConn {
					t.Errorf("Connection: got %q, want %q", got, tt.wantConn)
				}
				if tt.name == "HEAD" && len(body) != 0 {
					t.Errorf("HEAD body: got %q, want none", body)
				}
			}
		})
	}
}

func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		send string
	}{
		{"idle keep-alive connection", Config{IdleTimeout: 100 * time.Millisecond}, ""},
		{"head sent in part", Config{ReadHeaderTimeout: 100 * time.Millisecond}, "GET / HTTP/1.1\r\nHost: a\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := startProxy(t, tt.cfg)
			startWeb(t, tp, 1)
			conn, err := net.Dial("tcp", tp.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"+tt.send)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("first response: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("got %v, want the proxy to close the connection (EOF)", err)
			}
		})
	}
}
