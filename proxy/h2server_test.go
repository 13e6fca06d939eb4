package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The proxy's HTTP/2 server loop (h2conn.go) spoken to frame by frame: what
// Go's client never does (small windows, a split header block, too many
// streams, a reset, a bad preface) and what the proxy sends on its own
// (SETTINGS, PING and its ACK, GOAWAY).

// h2Raw is a client connection driven frame by frame.
type h2Raw struct {
	t    *testing.T
	conn *tls.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

// dialH2Raw connects, sends the preface and settings, and reads frames until
// the proxy's SETTINGS, which it acknowledges.
func dialH2Raw(t *testing.T, addr string, ccfg *tls.Config, settings ...http2.Setting) *h2Raw {
	t.Helper()
	cfg := ccfg.Clone()
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := &h2Raw{t: t, conn: conn, fr: http2.NewFramer(conn, conn)}
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	r.enc = hpack.NewEncoder(&r.hbuf)
	io.WriteString(conn, http2.ClientPreface)
	r.fr.WriteSettings(settings...)
	f := r.next()
	if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		t.Fatalf("first frame from the proxy: %v, want its SETTINGS", f)
	}
	r.fr.WriteSettingsAck()
	return r
}

// next returns the next frame other than a SETTINGS ACK or WINDOW_UPDATE.
func (r *h2Raw) next() http2.Frame {
	r.t.Helper()
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("reading a frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
		case *http2.WindowUpdateFrame:
			continue
		}
		return f
	}
}

// block encodes a request's header block.
func (r *h2Raw) block(method, path string, fields ...string) []byte {
	r.hbuf.Reset()
	r.enc.WriteField(hpack.HeaderField{Name: ":method", Value: method})
	r.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "https"})
	r.enc.WriteField(hpack.HeaderField{Name: ":authority", Value: "localhost"})
	r.enc.WriteField(hpack.HeaderField{Name: ":path", Value: path})
	for i := 0; i+1 < len(fields); i += 2 {
		r.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(r.hbuf.Bytes())
}

func (r *h2Raw) get(id uint32, path string, fields ...string) {
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block("GET", path, fields...), EndStream: true, EndHeaders: true})
}

// response reads stream id's response: its status and body, the body read
// with the window the connection was given (WINDOW_UPDATEs sent as it
// arrives when credit is set).
func (r *h2Raw) response(id uint32, credit bool) (status string, body []byte) {
	r.t.Helper()
	for {
		switch f := r.next().(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id && f.PseudoValue("status") >= "200" {
				status = f.PseudoValue("status")
			}
			if f.StreamEnded() {
				return status, body
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if credit && len(f.Data()) > 0 {
				r.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				r.fr.WriteWindowUpdate(id, uint32(len(f.Data())))
			}
			if f.StreamEnded() {
				return status, body
			}
		case *http2.RSTStreamFrame:
			r.t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.GoAwayFrame:
			r.t.Fatalf("GOAWAY: %v", f.ErrCode)
		}
	}
}

func h2TestProxy(t *testing.T, cfg Config, h http.HandlerFunc) (*testProxy, *tls.Config) {
	tp, ccfg := tlsProxy(t, cfg)
	b := startBackend(t, "web.1", h)
	tp.Enable("web.1", b.Addr)
	return tp, ccfg
}

func TestH2SettingsAndPing(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, nil)
	r := dialH2Raw(t, tp.Addr, ccfg)
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	r.fr.WritePing(false, data)
	f := r.next()
	if pf, ok := f.(*http2.PingFrame); !ok || !pf.IsAck() || pf.Data != data {
		t.Fatalf("got %v, want a PING ACK with the same data", f)
	}
	r.get(1, "/")
	if status, body := r.response(1, false); status != "200" || string(body) != "web.1" {
		t.Errorf("got %s %q, want 200 \"web.1\"", status, body)
	}
}

// TestH2ResponseFlowControl: a response larger than the client's stream and
// connection windows waits for its WINDOW_UPDATEs, and comes whole.
func TestH2ResponseFlowControl(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("abcdefghij", 30_000) // 300 kB, past the 64 kB connection window
	tp, ccfg := h2TestProxy(t, Config{}, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	r := dialH2Raw(t, tp.Addr, ccfg, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	r.get(1, "/big")
	// Without WINDOW_UPDATEs, no more than the stream's window of 1000 bytes comes.
	got := 0
	for got < 1000 {
		f, ok := r.next().(*http2.DataFrame)
		if ok {
			got += len(f.Data())
		}
	}
	if got != 1000 {
		t.Fatalf("got %d bytes of DATA, want the window's 1000", got)
	}
	r.fr.WriteWindowUpdate(1, 1<<20)
	r.fr.WriteWindowUpdate(0, 1<<20)
	status, body := r.response(1, true)
	if status != "" || len(body)+got != len(big) || string(body) != big[got:] {
		t.Errorf("got %q and %d more bytes, want the rest of %d", status, len(body), len(big))
	}
}

// TestH2LargeBodiesBothWays: bodies past the proxy's windows (1 MiB) each
// way, through Go's client: the proxy gives its receive window back as the
// body is forwarded.
func TestH2LargeBodiesBothWays(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // whole first: Go's HTTP/1.1 server is not full-duplex
		w.Write(body)
	})
	c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	for _, known := range []bool{true, false} {
		var body io.Reader = bytes.NewReader(big)
		if !known {
			body = io.MultiReader(body) // no length: the proxy sends it chunked
		}
		resp, err := c.Post(tp.URL+"/echo", "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Proto != "HTTP/2.0" || !bytes.Equal(got, big) {
			t.Errorf("known length %v: got %d bytes, %v over %s; want the %d sent back", known, len(got), err, resp.Proto, len(big))
		}
	}
}

// TestH2ContinuationAndExpect: a header block split over HEADERS and
// CONTINUATION, and a request that waits for 100 Continue before its body.
func TestH2ContinuationAndExpect(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, forwardedEcho)
	r := dialH2Raw(t, tp.Addr, ccfg)
	block := r.block("GET", "/split", "x-long", strings.Repeat("v", 3000))
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:100], EndStream: true})
	r.fr.WriteContinuation(1, false, block[100:2000])
	r.fr.WriteContinuation(1, true, block[2000:])
	if status, body := r.response(1, false); status != "200" || !strings.HasPrefix(string(body), "proto=https") {
		t.Errorf("split block: got %s %q, want 200 and the echo", status, body)
	}
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: r.block("POST", "/up", "expect", "100-continue", "content-length", "5"), EndHeaders: true})
	f, ok := r.next().(*http2.MetaHeadersFrame)
	if !ok || f.PseudoValue("status") != "100" || f.StreamEnded() {
		t.Fatalf("got %v, want a 100 Continue head before the body is sent", f)
	}
	r.fr.WriteData(3, true, []byte("hello"))
	if status, body := r.response(3, false); status != "200" || !strings.HasSuffix(string(body), "len=5 body=hello") {
		t.Errorf("expect: got %s %q", status, body)
	}
}

// TestH2RefusesStreamsPastTheLimit: SETTINGS_MAX_CONCURRENT_STREAMS (250)
// streams run; one more is refused with RST_STREAM, and the others complete.
func TestH2RefusesStreamsPastTheLimit(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	tp, ccfg := h2TestProxy(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "ok")
	})
	r := dialH2Raw(t, tp.Addr, ccfg)
	for i := range uint32(h2MaxStreams + 1) {
		r.get(2*i+1, "/wait")
	}
	f := r.next()
	close(release)
	if rf, ok := f.(*http2.RSTStreamFrame); !ok || rf.StreamID != 2*h2MaxStreams+1 || rf.ErrCode != http2.ErrCodeRefusedStream {
		t.Fatalf("got %v, want RST_STREAM REFUSED_STREAM for stream %d", f, 2*h2MaxStreams+1)
	}
	ended := 0
	for ended < h2MaxStreams {
		switch f := r.next().(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended++
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("after %d streams: %v", ended, f)
		}
	}
}

// TestH2ClientResetCancelsTheRequest: RST_STREAM from the client ends the
// instance's request (its context), and the connection goes on.
func TestH2ClientResetCancelsTheRequest(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{})
	tp, ccfg := h2TestProxy(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hang" {
			io.WriteString(w, "fine")
			return
		}
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		// A tick every 10 ms until the proxy, writing one to a reset stream,
		// gives up the request.
		for range 2000 {
			select {
			case <-r.Context().Done():
				close(canceled)
				return
			case <-time.After(10 * time.Millisecond):
			}
			io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
		}
	})
	r := dialH2Raw(t, tp.Addr, ccfg)
	r.get(1, "/hang")
	if f, ok := r.next().(*http2.MetaHeadersFrame); !ok || f.PseudoValue("status") != "200" {
		t.Fatalf("got %v, want the head of /hang", f)
	}
	r.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the instance's request was not canceled by the client's RST_STREAM")
	}
	r.get(3, "/next")
	if status, body := r.response(3, false); status != "200" || string(body) != "fine" {
		t.Errorf("after the reset: got %s %q", status, body)
	}
}

// TestH2BodyLongerThanItsLength: DATA past the request's Content-Length
// resets the stream (PROTOCOL_ERROR); the connection goes on.
func TestH2BodyLongerThanItsLength(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, forwardedEcho)
	r := dialH2Raw(t, tp.Addr, ccfg)
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block("POST", "/up", "content-length", "3"), EndHeaders: true})
	r.fr.WriteData(1, true, []byte("too long"))
	for {
		f := r.next()
		if rf, ok := f.(*http2.RSTStreamFrame); ok {
			if rf.StreamID != 1 || rf.ErrCode != http2.ErrCodeProtocol {
				t.Fatalf("got %v, want RST_STREAM PROTOCOL_ERROR on stream 1", f)
			}
			break
		}
		if df, ok := f.(*http2.DataFrame); ok && df.StreamEnded() {
			t.Fatalf("stream 1 ended normally, with a body longer than its Content-Length")
		}
	}
	r.get(3, "/next")
	if status, _ := r.response(3, false); status != "200" {
		t.Errorf("after the reset: got %s", status)
	}
}

// TestH2BadPreface: a client that chose h2 and sends something else is
// disconnected.
func TestH2BadPreface(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, nil)
	cfg := ccfg.Clone()
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", tp.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	n, err := io.Copy(io.Discard, conn)
	if err != nil || n != 0 {
		t.Errorf("got %d bytes, %v; want the connection closed with nothing sent", n, err)
	}
}

// TestH2IdleTimeout: a connection without streams for IdleTimeout gets
// GOAWAY NO_ERROR and is closed.
func TestH2IdleTimeout(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{IdleTimeout: 200 * time.Millisecond}, nil)
	r := dialH2Raw(t, tp.Addr, ccfg)
	r.get(1, "/")
	r.response(1, false)
	f := r.next()
	if gf, ok := f.(*http2.GoAwayFrame); !ok || gf.ErrCode != http2.ErrCodeNo || gf.LastStreamID != 1 {
		t.Fatalf("got %v, want GOAWAY NO_ERROR, last stream 1", f)
	}
	if _, err := r.fr.ReadFrame(); err == nil {
		t.Error("the connection stayed open after GOAWAY")
	}
}

// TestH2GoAwayOnShutdown: Serve's end sends GOAWAY; the stream running
// completes, then the connection closes.
func TestH2GoAwayOnShutdown(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t)
	p, err := New(Config{TLSConfig: ca.server, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddPool(PoolConfig{Process: "web"}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	})
	p.Enable("web", "web.1", b.Addr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	waited := false
	defer func() {
		cancel()
		if !waited {
			<-served
		}
	}()
	r := dialH2Raw(t, ln.Addr().String(), &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
	r.get(1, "/slow")
	r.fr.WritePing(false, [8]byte{})
	if _, ok := r.next().(*http2.PingFrame); !ok { // the stream has started
		t.Fatal("no PING ACK")
	}
	cancel()
	f := r.next()
	close(release)
	if gf, ok := f.(*http2.GoAwayFrame); !ok || gf.ErrCode != http2.ErrCodeNo {
		t.Fatalf("got %v, want GOAWAY NO_ERROR", f)
	}
	if status, body := r.response(1, false); status != "200" || string(body) != "done" {
		t.Errorf("the stream running at shutdown: got %s %q", status, body)
	}
	if f, err := r.fr.ReadFrame(); err == nil {
		t.Errorf("after the last stream: %v, want the connection closed", f)
	}
	waited = true
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestH2RequestTrailersEndTheBody: a request body of unknown length ended by
// trailers (HEADERS with END_STREAM) reaches the instance whole; the
// trailers are dropped.
func TestH2RequestTrailersEndTheBody(t *testing.T) {
	t.Parallel()
	tp, ccfg := h2TestProxy(t, Config{}, forwardedEcho)
	r := dialH2Raw(t, tp.Addr, ccfg)
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block("POST", "/up"), EndHeaders: true})
	r.fr.WriteData(1, false, []byte("hel"))
	r.fr.WriteData(1, false, []byte("lo"))
	r.hbuf.Reset()
	r.enc.WriteField(hpack.HeaderField{Name: "x-checksum", Value: "abc"})
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.hbuf.Bytes(), EndStream: true, EndHeaders: true})
	if status, body := r.response(1, false); status != "200" || !strings.HasSuffix(string(body), "len=5 body=hello") {
		t.Errorf("got %s %q, want 200 ending \"len=5 body=hello\"", status, body)
	}
}
