package proxy

import (
	"context"
	"crypto/tls"
	"golang.org/x/net/http2/hpack"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// streamConn is the virtual net.Conn through which the forwarding path
// (fastpath.go) serves one HTTP/2 stream at a time: reading it gives the
// stream's request as an HTTP/1.1 head and body, and what is written to it, an
// HTTP/1.1 response, goes to the stream's http.ResponseWriter (respWriter).
// Reading past the request blocks until the stream ends (then EOF) or a read
// deadline in the past wakes it, as a socket does for local.go's watchClose.
type streamConn struct {
	tc *tls.Conn // the HTTP/2 connection, for its addresses

	head []byte    // the request head not read yet
	hbuf []byte    // its storage, reused
	body io.Reader // the request body, chunk-encoded when its length is unknown; nil: read
	enc  chunkEncoder
	done <-chan struct{} // the stream's context

	wakeMu sync.Mutex
	wake   chan struct{} // closed by a read deadline in the past
	woken  bool

	rw     respWriter
	closed bool // Close was called: the response is cut (a reset fault)
}

// serveStream forwards rq through c, whose conn is s, writing the answer to w,
// and reports whether the response was complete.
func (s *streamConn) serveStream(c *clientConn, w http.ResponseWriter, rq *h2Request) bool {
	s.start(w, rq)
	c.ctx = rq.ctx
	c.linger = false
	c.state.Store(connActive)
	c.br.Reset(&c.lr) // nothing of the last stream stays buffered
	c.bw.Reset(s)
	c.lr.remain = int64(c.p.cfg.MaxHeaderBytes) + 4096
	err := c.rh.read(c.br)
	c.lr.remain = math.MaxInt64
	if err != nil {
		c.headFailed(err)
	} else {
		c.handle()
	}
	return s.finish()
}

// h2Request is one HTTP/2 stream's request as h2conn.go decoded it.
type h2Request struct {
	method, path, authority string
	fields                  []hpack.HeaderField // the regular ones
	contentLength           int64               // -1: unknown
	body                    io.Reader
	ctx                     context.Context
}

// start readies s for rq: its HTTP/1.1 head, its body, a fresh response.
// Cookie fields, which HTTP/2 may split, are joined into one (RFC 9113
// 8.2.3).
func (s *streamConn) start(w http.ResponseWriter, rq *h2Request) {
	b := append(s.hbuf[:0], rq.method...)
	b = append(b, ' ')
	b = append(b, rq.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	host := rq.authority
	cookies := 0
	for _, f := range rq.fields {
		switch f.Name {
		case "host":
			if host == "" {
				host = f.Value
			}
		case "cookie":
			cookies++
		}
	}
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if cookies > 0 {
		b = append(b, "cookie: "...)
		n := 0
		for _, f := range rq.fields {
			if f.Name == "cookie" {
				if n > 0 {
					b = append(b, "; "...)
				}
				b = append(b, f.Value...)
				n++
			}
		}
		b = append(b, "\r\n"...)
	}
	for _, f := range rq.fields {
		switch f.Name {
		case "host", "cookie", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "te", "expect":
			continue // HTTP/2 has none of these (h2body.go answers 100-continue)
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	s.body = nil
	switch {
	case rq.contentLength > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, rq.contentLength, 10)
		b = append(b, "\r\n"...)
		s.body = rq.body
	case rq.contentLength < 0: // a body of unknown length
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		s.enc.reset(rq.body)
		s.body = &s.enc
	}
	b = append(b, "\r\n"...)
	s.hbuf, s.head = b, b
	s.done = rq.ctx.Done()
	s.wakeMu.Lock()
	if s.wake == nil || s.woken {
		s.wake, s.woken = make(chan struct{}), false
	}
	s.wakeMu.Unlock()
	s.rw = respWriter{w: w, isHead: rq.method == http.MethodHead, remain: -1, head: s.rw.head[:0], line: s.rw.line[:0]}
	s.closed = false
}

// finish tells, once the forwarding path is done with the stream, whether
// its response is complete: one cut short (a reset fault, an instance gone in the middle of a body, no
// answer at all) is reset (h2conn.go), so the client sees an error, not a short
// success.
func (s *streamConn) finish() bool {
	rw := &s.rw
	// complete, or a body that ends with the stream
	return rw.done || rw.inBody && !s.closed && rw.remain < 0 && !rw.chunked
}

func (s *streamConn) Read(p []byte) (int, error) {
	if len(s.head) > 0 {
		n := copy(p, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	if s.body != nil {
		n, err := s.body.Read(p)
		if err != io.EOF {
			return n, err
		}
		s.body = nil
		if n > 0 {
			return n, nil
		}
	}
	s.wakeMu.Lock()
	wake := s.wake
	s.wakeMu.Unlock()
	select {
	case <-s.done:
		return 0, io.EOF
	case <-wake:
		return 0, os.ErrDeadlineExceeded
	}
}

func (s *streamConn) Write(p []byte) (int, error) {
	rw := &s.rw
	n := len(p)
	for len(p) > 0 && rw.err == nil && !rw.done {
		if !rw.inBody {
			p = rw.takeHead(p)
		} else {
			p = rw.body(p)
		}
	}
	if rw.err != nil {
		return 0, rw.err
	}
	if rw.inBody && !rw.done {
		rw.flush() // a stream (SSE) or a long body: what the proxy flushed goes out now
	}
	return n, nil
}

func (s *streamConn) Close() error {
	s.closed = true
	return nil
}

func (s *streamConn) LocalAddr() net.Addr              { return s.tc.LocalAddr() }
func (s *streamConn) RemoteAddr() net.Addr             { return s.tc.RemoteAddr() }
func (s *streamConn) SetDeadline(t time.Time) error    { return s.SetReadDeadline(t) }
func (s *streamConn) SetWriteDeadline(time.Time) error { return nil } // the HTTP/2 server's own

// SetReadDeadline wakes a blocked Read when t has passed; other deadlines are
// the HTTP/2 server's to keep (its timeouts cover the client's side).
func (s *streamConn) SetReadDeadline(t time.Time) error {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	switch {
	case t.IsZero():
		if s.woken {
			s.wake, s.woken = make(chan struct{}), false
		}
	case !t.After(time.Now()):
		if !s.woken {
			close(s.wake)
			s.woken = true
		}
	}
	return nil
}

// chunkEncoder gives a body of unknown length in the chunked coding.
type chunkEncoder struct {
	r       io.Reader
	buf     [16 << 10]byte
	out     []byte
	pending []byte
	eof     bool
}

func (e *chunkEncoder) reset(r io.Reader) {
	e.r, e.pending, e.eof = r, nil, false
}

func (e *chunkEncoder) Read(p []byte) (int, error) {
	for len(e.pending) == 0 {
		if e.eof {
			return 0, io.EOF
		}
		n, err := e.r.Read(e.buf[:])
		e.out = e.out[:0]
		if n > 0 {
			e.out = strconv.AppendInt(e.out, int64(n), 16)
			e.out = append(e.out, "\r\n"...)
			e.out = append(e.out, e.buf[:n]...)
			e.out = append(e.out, "\r\n"...)
		}
		switch {
		case err == io.EOF:
			e.out = append(e.out, "0\r\n\r\n"...)
			e.eof = true
		case err != nil:
			return 0, err
		}
		e.pending = e.out
	}
	n := copy(p, e.pending)
	e.pending = e.pending[n:]
	return n, nil
}
