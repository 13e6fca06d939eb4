package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// h2sStream is one HTTP/2 stream: its request, forwarded on a goroutine of
// its own (runStream), and the http.ResponseWriter its response is written to
// (h2write.go).
type h2sStream struct {
	c      *h2sConn
	id     uint32
	cancel context.CancelFunc
	req    h2Request
	body   h2Body

	// The response, on the stream's goroutine.
	hdr         http.Header
	status      int
	sentHeaders bool

	// Under c.mu.
	sendWin     int64
	recvWin     int64
	recvUnacked int64
	reset       bool // RST_STREAM sent or received
}

// onHeaders starts a stream, or ends a request body with its trailers.
func (c *h2sConn) onHeaders(f *http2.MetaHeadersFrame) (http2.ErrCode, bool) {
	id := f.StreamID
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		if !f.StreamEnded() || st.body.ended() {
			return http2.ErrCodeProtocol, true
		}
		st.body.put(nil, true) // trailers are dropped
		return 0, false
	}
	switch {
	case id%2 == 0:
		return http2.ErrCodeProtocol, true
	case id <= c.lastID:
		return 0, false // trailers of a stream answered and closed already
	}
	c.lastID = id
	switch {
	case c.goaway:
		return 0, false // after GOAWAY: ignored (RFC 9113 6.8)
	case c.active >= h2MaxStreams:
		c.resetLocked(id, http2.ErrCodeRefusedStream)
		return 0, false
	}
	rq := h2Request{method: f.PseudoValue("method"), path: f.PseudoValue("path"), authority: f.PseudoValue("authority"), fields: f.RegularFields()}
	if rq.method == "" || rq.path == "" || rq.method == http.MethodConnect {
		c.resetLocked(id, http2.ErrCodeProtocol) // no CONNECT through the proxy
		return 0, false
	}
	st := &h2sStream{c: c, id: id, sendWin: c.peerWin, recvWin: h2StreamWindow, hdr: http.Header{}}
	st.body.init(st)
	rq.contentLength = -1
	if f.StreamEnded() {
		rq.contentLength = 0
		st.body.eof = true
	}
	for _, hf := range rq.fields {
		switch hf.Name {
		case "content-length":
			n, ok := parseContentLength([]byte(hf.Value))
			if !ok {
				c.resetLocked(id, http2.ErrCodeProtocol)
				return 0, false
			}
			if !f.StreamEnded() {
				rq.contentLength = n
			}
			st.body.declared = n
		case "expect":
			st.body.wantContinue = !f.StreamEnded()
		}
	}
	if f.Truncated {
		st.status = http.StatusRequestHeaderFieldsTooLarge
	}
	rq.ctx, st.cancel = context.WithCancel(c.ctx)
	rq.body = &st.body
	st.req = rq
	c.streams[id] = st
	if c.active++; c.active == 1 {
		c.idle.Stop()
	}
	select {
	case c.work <- st: // a stream goroutine was idle
	default:
		go c.streamWorker(st)
	}
	return 0, false
}

// streamWorker runs st, then the streams given to it while it waits, until
// the connection ends: a new stream costs no new goroutine (and no new
// stack to grow) once the connection has had as many at once.
func (c *h2sConn) streamWorker(st *h2sStream) {
	for {
		c.runStream(st)
		select {
		case st = <-c.work:
		case <-c.ctx.Done():
			return
		}
	}
}

// runStream forwards st's request and ends the stream.
func (c *h2sConn) runStream(st *h2sStream) {
	ok := false
	if st.status != 0 { // a head too large for the proxy
		st.WriteHeader(st.status)
		ok = true
	} else if cc := c.hc.get(); cc != nil {
		ok = cc.conn.(*streamConn).serveStream(cc, st, &st.req)
		c.hc.put(cc)
		c.hc.streams.Done()
	}
	st.finish(ok)
	st.cancel()
	c.mu.Lock()
	delete(c.streams, st.id)
	if c.active--; c.active == 0 {
		if c.goaway {
			c.closing = true
			c.wakeLocked()
		} else {
			c.idle.Reset(c.hc.p.cfg.IdleTimeout)
		}
	}
	c.mu.Unlock()
}

// finish ends the response: END_STREAM if it is complete, else RST_STREAM,
// so that the client sees an error, not a short success.
func (st *h2sStream) finish(ok bool) {
	c := st.c
	if ok {
		if !st.sentHeaders {
			if st.status == 0 {
				st.status = http.StatusOK
			}
			ok = st.writeHeaders(st.status, true) == nil
		} else {
			ok = st.writeData(nil, true) == nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case st.reset:
	case !ok:
		c.resetLocked(st.id, http2.ErrCodeInternal)
	case !st.body.ended():
		c.resetLocked(st.id, http2.ErrCodeNo) // the rest of the request body is not wanted
	}
	st.reset = true
	st.body.fail(errH2Gone)
	c.wakeLocked()
}

// h2Body is a stream's request body: what DATA frames brought, read by the
// forwarding path. It holds at most a stream window.
type h2Body struct {
	st   *h2sStream
	mu   sync.Mutex
	cond sync.Cond
	buf  []byte // buf[r:] is not read yet
	r    int
	eof  bool
	err  error

	declared     int64 // Content-Length; -1: none
	got          int64
	wantContinue bool // Expect: 100-continue, answered at the first read
}

func (b *h2Body) init(st *h2sStream) {
	b.st, b.declared = st, -1
	b.cond.L = &b.mu
}

// put adds data (eof: the last) and reports false if the body is longer or
// shorter than its Content-Length.
func (b *h2Body) put(data []byte, eof bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eof || b.err != nil {
		return true
	}
	b.got += int64(len(data))
	if b.declared >= 0 && (b.got > b.declared || eof && b.got < b.declared) {
		b.err = errBadH2Body
		b.cond.Broadcast()
		return false
	}
	if b.r == len(b.buf) {
		b.buf, b.r = b.buf[:0], 0
	}
	b.buf = append(b.buf, data...)
	b.eof = eof
	b.cond.Broadcast()
	return true
}

var errBadH2Body = errors.New("http2: a request body longer or shorter than its Content-Length")

// fail ends the body with err, unless it is complete.
func (b *h2Body) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && !b.eof {
		b.err = err
	}
	b.cond.Broadcast()
}

// ended reports whether the client has sent all of the body, or may not
// send more.
func (b *h2Body) ended() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof || b.err != nil
}

func (b *h2Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	for b.r == len(b.buf) && !b.eof && b.err == nil {
		if b.wantContinue {
			b.wantContinue = false
			b.mu.Unlock()
			b.st.writeHeaders(http.StatusContinue, false)
			b.mu.Lock()
			continue
		}
		b.cond.Wait()
	}
	if b.r < len(b.buf) {
		n := copy(p, b.buf[b.r:])
		b.r += n
		b.mu.Unlock()
		c := b.st.c
		c.mu.Lock()
		c.creditLocked(b.st, int64(n))
		c.mu.Unlock()
		return n, nil
	}
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	return 0, io.EOF
}
