package proxy

import (
	"crypto/tls"
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

// serveStream forwards r through c, whose conn is s, writing the answer to w.
func (s *streamConn) serveStream(c *clientConn, w http.ResponseWriter, r *http.Request) {
	s.start(w, r)
	c.ctx = r.Context()
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
	s.finish()
}

// start readies s for r: its HTTP/1.1 head, its body, a fresh response.
func (s *streamConn) start(w http.ResponseWriter, r *http.Request) {
	b := append(s.hbuf[:0], r.Method...)
	b = append(b, ' ')
	if r.RequestURI != "" {
		b = append(b, r.RequestURI...)
	} else {
		b = append(b, r.URL.RequestURI()...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.Host...)
	b = append(b, "\r\n"...)
	for k, vs := range r.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "Te", "Expect":
			continue // HTTP/2 has none of these (Go's server takes care of 100-continue)
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	s.body = nil
	switch {
	case r.ContentLength > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, "\r\n"...)
		s.body = r.Body
	case r.ContentLength < 0: // a body of unknown length
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		s.enc.reset(r.Body)
		s.body = &s.enc
	}
	b = append(b, "\r\n"...)
	s.hbuf, s.head = b, b
	s.done = r.Context().Done()
	s.wakeMu.Lock()
	if s.wake == nil || s.woken {
		s.wake, s.woken = make(chan struct{}), false
	}
	s.wakeMu.Unlock()
	s.rw = respWriter{w: w, isHead: r.Method == http.MethodHead, remain: -1, head: s.rw.head[:0], line: s.rw.line[:0]}
	s.closed = false
}

// finish ends the stream once the forwarding path is done with it: a response
// cut short (a reset fault, an instance gone in the middle of a body, no
// answer at all) resets the stream, so the client sees an error, not a short
// success.
func (s *streamConn) finish() {
	rw := &s.rw
	if rw.done || rw.inBody && !s.closed && rw.remain < 0 && !rw.chunked {
		return // complete, or a body that ends with the stream
	}
	panic(http.ErrAbortHandler)
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
