package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Client connection states, for graceful shutdown: idle connections are closed
// at once, active ones after their current response, tunnels at once.
const (
	connIdle int32 = iota
	connActive
	connTunnel
	connClosed
)

// clientConn serves one client connection in one goroutine: it reads a request,
// writes it on a backend connection that this client connection owns, reads the
// response and copies it back. Nothing is handed to another goroutine, which is
// what makes this path several times cheaper than http.Server + http.Transport.
type clientConn struct {
	p        *Proxy
	ctx      context.Context
	conn     net.Conn
	lr       connReader
	br       *bufio.Reader
	bw       *bufio.Writer
	clientIP string
	state    atomic.Int32
	rdl      lazyDeadline

	cache   []*backendConn // at most one idle connection per backend
	spares  []*backendConn // connections the instances said they close, oldest first (see redial)
	fr      fwdReq         // reused for each request
	rh      reqHead        // the current request's head
	resp    respHead       // the current response's head
	reqBody lengthReader   // a request body of known length
	body    lengthReader   // a response body of known length
	scratch []byte
}

// sock is what the forwarding path needs of a connection: a *net.TCPConn, or
// the *os.File of a socket that dialBackend opened itself.
type sock interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SyscallConn() (syscall.RawConn, error)
}

// backendConn is a keep-alive connection to one incarnation of a backend.
type backendConn struct {
	b        *backend
	ep       *endpoint
	conn     sock
	sio      *sockIO
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	rdl      lazyDeadline
}

// lazyDeadline keeps a read deadline armed across requests and moves it only when
// it is later than wanted or more than a little earlier (a sixteenth of the
// timeout, at most a second): a keep-alive connection then updates its timer
// about once a second instead of two or three times per request.
type lazyDeadline struct {
	conn interface{ SetReadDeadline(time.Time) error }
	at   time.Time // zero: no deadline
}

func (l *lazyDeadline) set(now time.Time, d time.Duration) {
	want := now.Add(d)
	if !l.at.IsZero() && !l.at.After(want) && l.at.After(want.Add(-min(d/16, time.Second))) {
		return
	}
	l.conn.SetReadDeadline(want)
	l.at = want
}

func (l *lazyDeadline) clear() {
	if !l.at.IsZero() {
		l.conn.SetReadDeadline(time.Time{})
		l.at = time.Time{}
	}
}

// headBuffered reports whether b holds a complete message head (an empty line).
func headBuffered(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' || len(b) > 1 && b[0] == '\r' && b[1] == '\n' {
			return true
		}
	}
}

// connReader limits how much the request header may take (→ 431), as net/http does.
type connReader struct {
	conn   io.Reader
	remain int64
	hit    bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.remain <= 0 {
		r.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.conn.Read(p)
	r.remain -= int64(n)
	return n, err
}

// fwdReq is the per-request state of the forwarding path.
type fwdReq struct {
	h              *reqHead
	isHead         bool
	hasBody        bool
	chunkedBody    bool
	body           countingReader
	expectContinue bool
	sentContinue   bool
	upgrade        []byte // Upgrade header of an upgrade request
	keep           bool   // client connection stays open after the response
	idempotent     bool
	cookie         string // the sticky cookie's value sent by the client
	hadCookie      bool
	cookieRest     []string // the Cookie lines without the sticky cookie, when hadCookie
	ri             reqInfo
}

// countingReader counts what was read of a request body, to know whether a
// retry is still possible and whether the client connection can be reused.
type countingReader struct {
	r       io.Reader
	n       int64
	eof     bool
	readErr error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	} else if err != nil {
		c.readErr = err
	}
	return n, err
}

func (p *Proxy) newClientConn(ctx context.Context, nc net.Conn) *clientConn {
	c := &clientConn{p: p, ctx: ctx, conn: nc}
	c.rdl.conn = nc
	sio := newSockIO(nc)
	c.lr = connReader{conn: sio, remain: math.MaxInt64}
	c.br = p.getReader(&c.lr)
	c.bw = p.getWriter(sio)
	if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.clientIP = host
	} else {
		c.clientIP = nc.RemoteAddr().String()
	}
	c.state.Store(connActive)
	p.track(c, true)
	return c
}

func (c *clientConn) close() {
	c.state.Store(connClosed)
	c.p.track(c, false)
	c.conn.Close()
	for _, bc := range c.cache {
		c.p.closeBackendConn(bc)
	}
	c.cache = nil
	for _, bc := range c.spares {
		c.p.closeBackendConn(bc)
	}
	c.spares = nil
	c.p.putReader(c.br)
	c.p.putWriter(c.bw)
	c.br, c.bw = nil, nil
}

func (c *clientConn) serve() {
	defer c.close()
	for {
		if !c.state.CompareAndSwap(connActive, connIdle) || c.ctx.Err() != nil {
			return
		}
		// The header limit counts from the first byte read for this request,
		// including what the wait for it buffered.
		c.lr.remain = int64(c.p.cfg.MaxHeaderBytes) + 4096 - int64(c.br.Buffered())
		if c.br.Buffered() == 0 {
			c.rdl.set(time.Now(), c.p.cfg.IdleTimeout)
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		if !c.state.CompareAndSwap(connIdle, connActive) {
			return
		}
		// A head that arrived whole needs no deadline of its own.
		if buf, _ := c.br.Peek(c.br.Buffered()); !headBuffered(buf) {
			c.rdl.set(time.Now(), c.p.cfg.ReadHeaderTimeout)
		}
		err := c.rh.read(c.br)
		c.lr.remain = math.MaxInt64
		if err != nil {
			switch {
			case c.lr.hit:
				c.writeError(nil, http.StatusRequestHeaderFieldsTooLarge, "",
					"request header is larger than "+strconv.Itoa(c.p.cfg.MaxHeaderBytes)+" bytes", false)
			case isTimeout(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
			default:
				c.writeError(nil, http.StatusBadRequest, "", "malformed request: "+err.Error(), false)
			}
			return
		}
		if c.rh.chunked || c.rh.contentLength > 0 || c.rh.upgrade != nil {
			c.rdl.clear() // a body or a tunnel may take any time
		}
		if !c.handle() {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// handle forwards one request, with retries, and reports whether the client
// connection can serve another.
func (c *clientConn) handle() bool {
	h := &c.rh
	fr := &c.fr
	*fr = fwdReq{h: h, ri: reqInfo{path: h.path, clientIP: c.clientIP}}
	fr.keep = !h.close && c.ctx.Err() == nil
	fr.hasBody = h.chunked || h.contentLength > 0
	fr.chunkedBody = h.chunked
	switch {
	case h.chunked:
		fr.body = countingReader{r: newChunkedReader(c.br)}
	case h.contentLength > 0:
		c.reqBody = lengthReader{r: c.br, n: h.contentLength}
		fr.body = countingReader{r: &c.reqBody}
	}
	fr.idempotent = isIdempotent(h.method)
	fr.isHead = string(h.method) == http.MethodHead
	// A body we do not read leaves the connection unusable.
	bodyKeep := func() bool { return fr.keep && (!fr.hasBody || fr.body.eof) }

	if h.major != 1 {
		c.writeError(fr, http.StatusHTTPVersionNotSupported, "", "only HTTP/1.x is proxied", false)
		return false
	}
	if ex := h.expect; len(ex) > 0 {
		if len(ex) != 1 || !asciiEqualFold(ex[0], "100-continue") {
			c.writeError(fr, http.StatusExpectationFailed, "", "unsupported Expect: "+string(bytes.Join(ex, []byte(", "))), false)
			return false
		}
		fr.expectContinue = fr.hasBody
	}
	if h.upgrade != nil && h.connUpgrade {
		fr.upgrade = h.upgrade
	}
	pl := c.p.route(h.path)
	if pl == nil {
		c.writeError(fr, http.StatusNotFound, "", "no process is balanced under "+h.path, bodyKeep())
		return bodyKeep()
	}
	if st := c.p.sticky; st != nil && st.mode == "cookie" {
		c.splitStickyCookie(fr, st.cookie)
	}

	var tried [8]*backend
	nTried := 0
	var waitUntil time.Time
	var last *proxyError
	for attempt := 0; ; attempt++ {
		v := pl.view.Load()
		if len(v.ready) == 0 {
			if waitUntil.IsZero() {
				waitUntil = time.Now().Add(c.p.cfg.WaitForBackend)
			}
			if v = pl.wait(c.ctx, waitUntil); v == nil {
				if last != nil {
					c.writeProxyError(fr, last, bodyKeep())
				} else {
					c.writeError(fr, http.StatusServiceUnavailable, "", pl.describe(), bodyKeep())
				}
				return bodyKeep()
			}
		}
		b := c.pick(pl, v, fr, tried[:nTried])
		out := c.forward(b, fr)
		if out.err == nil {
			return out.keep
		}
		last = out.err
		if !out.retry || attempt >= c.p.cfg.Retries {
			if out.err.status != 0 {
				c.writeProxyError(fr, out.err, bodyKeep() && out.keep)
			}
			return bodyKeep() && out.keep
		}
		if nTried < len(tried) {
			tried[nTried] = b
			nTried++
		}
	}
}

// pick chooses a backend: the sticky one while it is up, else by strategy,
// avoiding instances already tried for this request when others exist.
func (c *clientConn) pick(pl *pool, v *poolView, fr *fwdReq, tried []*backend) *backend {
	st := c.p.sticky
	if st != nil {
		if id := st.lookup(&fr.ri, fr.cookie); id != "" {
			if b := v.find(id); b != nil && !contains(tried, b) {
				return b
			}
		}
	}
	ready, ring := v.ready, v.ring
	if len(tried) > 0 {
		ready = without(ready, tried)
		ring = without(ring, tried)
	}
	b := pl.sel.choose(ready, ring, &fr.ri)
	if st != nil {
		st.remember(&fr.ri, b.id)
	}
	return b
}

func contains(bs []*backend, b *backend) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// splitStickyCookie takes the proxy's cookie out of the request's Cookie lines.
func (c *clientConn) splitStickyCookie(fr *fwdReq, name string) {
	var lines []string
	for _, f := range fr.h.fields {
		if f.kind == hCookie {
			lines = append(lines, string(f.value))
		}
	}
	if v, rest, ok := splitCookie(lines, name); ok {
		fr.cookie, fr.hadCookie, fr.cookieRest = v, true, rest
	}
}

func isIdempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// outcome of one forwarding attempt. err nil: a response was sent (or the client
// went away); err non-nil: nothing reached the client yet.
type outcome struct {
	keep  bool
	err   *proxyError
	retry bool
}

// forward runs one attempt against b.
func (c *clientConn) forward(b *backend, fr *fwdReq) outcome {
	b.begin()
	defer b.end()
	bc, reused, err := c.backendConn(b)
	if err != nil {
		detail := describeDialError(b.addr(), err, c.p.cfg.ConnectTimeout)
		// Passive check: a refused connection takes the instance down at once; a
		// connect timeout counts as one failed check.
		b.pool.report(b, false, detail, !isTimeout(err))
		return outcome{retry: true, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}
	}

	err = c.writeRequestHead(bc.bw, b, fr)
	if err == nil && fr.hasBody {
		if fr.expectContinue && !fr.sentContinue {
			fr.sentContinue = true
			c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := c.bw.Flush(); err != nil {
				c.dropBackend(bc)
				return outcome{keep: false}
			}
		}
		var n int64
		n, err = c.copyBody(bc.bw, &fr.body, fr.chunkedBody, c.br)
		b.bytesIn.Add(uint64(n))
		if fr.body.readErr != nil {
			c.dropBackend(bc)
			return outcome{keep: false, err: &proxyError{status: http.StatusBadRequest, msg: "reading the request body: " + fr.body.readErr.Error()}}
		}
	}
	if err == nil {
		err = bc.bw.Flush()
	}
	if err != nil {
		c.dropBackend(bc)
		detail := "sending the request to " + b.addr() + ": " + err.Error()
		b.pool.setLastError(b, detail)
		return outcome{retry: fr.body.n == 0, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}
	}

	bc.rdl.set(time.Now(), c.p.cfg.ResponseTimeout)
	resp := &c.resp
	err = resp.read(bc.br, fr.isHead)
	for err == nil && resp.code < 200 && resp.code != http.StatusSwitchingProtocols {
		// Interim response (103 Early Hints, 100 Continue): pass it on.
		c.writeResponseHead(b, fr, resp, framingNone)
		c.bw.Flush()
		err = resp.read(bc.br, fr.isHead)
	}
	if err != nil {
		c.dropBackend(bc)
		if isTimeout(err) {
			detail := "no response header within " + c.p.cfg.ResponseTimeout.String()
			b.pool.setLastError(b, detail)
			return outcome{keep: false, err: &proxyError{status: http.StatusGatewayTimeout, b: b, msg: detail}}
		}
		detail := "reading the response: " + err.Error()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			detail = "connection closed before a response"
		}
		b.pool.setLastError(b, detail)
		// The request was sent: only an idempotent request without a body may be
		// replayed. A reused connection closed by the instance while idle was
		// caught by alive; reused is kept for that reason only.
		retry := !fr.hasBody && fr.idempotent
		_ = reused
		return outcome{retry: retry, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}
	}
	// A body that is not all here may take any time (a stream).
	if resp.code == http.StatusSwitchingProtocols || !resp.noBody &&
		(resp.contentLength < 0 || int64(bc.br.Buffered()) < resp.contentLength) {
		bc.rdl.clear()
	}

	if resp.code == http.StatusSwitchingProtocols {
		if fr.upgrade == nil {
			c.dropBackend(bc)
			return outcome{keep: false, err: &proxyError{status: http.StatusBadGateway, b: b, msg: "101 Switching Protocols without an upgrade request"}}
		}
		c.tunnel(b, bc, fr, resp)
		return outcome{keep: false}
	}
	keep := c.copyResponse(b, bc, fr, resp)
	return outcome{keep: keep}
}

// backendConn returns this client connection's idle connection to b, or dials one.
func (c *clientConn) backendConn(b *backend) (*backendConn, bool, error) {
	ep := b.ep.Load()
	for i, bc := range c.cache {
		if bc.b != b {
			continue
		}
		c.cache = append(c.cache[:i], c.cache[i+1:]...)
		if bc.ep == ep && bc.alive(c.p.staleAfter) {
			c.cache = append(c.cache, bc)
			return bc, true, nil
		}
		c.p.closeBackendConn(bc)
		break
	}
	for i := 0; i < len(c.spares); i++ {
		bc := c.spares[i]
		reused, wait, err := c.p.redial(bc, ep)
		if !reused {
			// wait: the instance has not closed its side yet; try again at the
			// next dial, unless it has been holding on for long.
			if !wait || time.Since(bc.lastUsed) > spareMaxAge {
				c.spares = append(c.spares[:i], c.spares[i+1:]...)
				i--
				c.p.closeBackendConn(bc)
			}
			continue
		}
		c.spares = append(c.spares[:i], c.spares[i+1:]...)
		if err != nil {
			c.p.closeBackendConn(bc)
			return nil, false, err
		}
		b.redials.Add(1)
		return c.newBackendConn(b, ep, bc), false, nil
	}
	nc, err := c.p.dialBackend(c.ctx, ep)
	if err != nil {
		return nil, false, err
	}
	bc := &backendConn{conn: nc, sio: newSockIO(nc)}
	bc.rdl.conn = nc
	return c.newBackendConn(b, ep, bc), false, nil
}

// dialNet connects to ep through net.Dialer (host names; platforms other than
// Linux).
func (p *Proxy) dialNet(ctx context.Context, ep *endpoint) (sock, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, err
	}
	return nc.(*net.TCPConn), nil
}

// newBackendConn puts bc, just connected to ep, into use for b.
func (c *clientConn) newBackendConn(b *backend, ep *endpoint, bc *backendConn) *backendConn {
	b.connects.Add(1)
	bc.b, bc.ep = b, ep
	bc.br, bc.bw = c.p.getReader(bc.sio), c.p.getWriter(bc.sio)
	c.cache = append(c.cache, bc)
	return bc
}

// Spares: connections whose instance said "Connection: close", kept until it
// has closed its side so that redial can reuse their sockets. Flask's development
// server closes ~10 ms after its response, by when the client's next request has
// often come already: the next dials try the older spares first.
const (
	maxSpares   = 4
	spareMaxAge = time.Second // still open after this: closed, not waited for
)

// retire takes bc, whose response said "Connection: close", out of use: it is
// kept as a spare if its socket can be redialed, else closed.
func (c *clientConn) retire(bc *backendConn) {
	if _, ok := bc.conn.(*os.File); !ok {
		c.dropBackend(bc)
		return
	}
	c.uncache(bc)
	bc.rdl.clear()
	c.p.putReader(bc.br)
	c.p.putWriter(bc.bw)
	bc.br, bc.bw = nil, nil
	bc.lastUsed = time.Now()
	if len(c.spares) == maxSpares {
		c.p.closeBackendConn(c.spares[0])
		c.spares = append(c.spares[:0], c.spares[1:]...)
	}
	c.spares = append(c.spares, bc)
}

// defaultStaleAfter is how long a cached backend connection may sit unused before
// it is checked for a close by the instance (an idle timeout) before reuse.
const defaultStaleAfter = 500 * time.Millisecond

// alive reports whether the instance has not closed bc while it sat idle. Only
// connections idle for a while are probed, with a non-blocking MSG_PEEK read (a
// read with a past deadline would not reach the socket at all).
func (bc *backendConn) alive(staleAfter time.Duration) bool {
	if bc.br.Buffered() > 0 {
		return false // unsolicited bytes: the connection is out of step
	}
	if time.Since(bc.lastUsed) < staleAfter {
		return true
	}
	bc.rdl.clear() // a deadline that has passed would fail the probe
	rc := bc.sio.rc
	if rc == nil {
		var err error
		if rc, err = bc.conn.SyscallConn(); err != nil {
			return false
		}
	}
	alive := false
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = n < 0 && errors.Is(err, syscall.EAGAIN) // nothing to read, not closed
		return true
	})
	return err == nil && alive
}

func (c *clientConn) dropBackend(bc *backendConn) {
	c.uncache(bc)
	c.p.closeBackendConn(bc)
}

// uncache takes bc out of the client connection's idle cache.
func (c *clientConn) uncache(bc *backendConn) {
	for i, x := range c.cache {
		if x == bc {
			c.cache = append(c.cache[:i], c.cache[i+1:]...)
			return
		}
	}
}

func (p *Proxy) closeBackendConn(bc *backendConn) {
	bc.conn.Close()
	p.putReader(bc.br)
	p.putWriter(bc.bw)
	bc.br, bc.bw = nil, nil
}

func writeHeader(w *bufio.Writer, k, v string) {
	w.WriteString(k)
	w.WriteString(": ")
	w.WriteString(v)
	w.WriteString("\r\n")
}

func writeField(w *bufio.Writer, f *headerField) {
	w.Write(f.name)
	w.WriteString(": ")
	w.Write(f.value)
	w.WriteString("\r\n")
}

// writeRequestHead writes the request line and headers for the instance: Host
// kept, hop-by-hop dropped, X-Forwarded-* and X-Real-IP set.
func (c *clientConn) writeRequestHead(w *bufio.Writer, b *backend, fr *fwdReq) error {
	h := fr.h
	w.Write(h.method)
	w.WriteByte(' ')
	w.Write(h.uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.Write(h.host)
	w.WriteString("\r\n")
	for i := range h.fields {
		f := &h.fields[i]
		switch f.kind {
		case hContentLength, hHost, hXForwardedFor, hForwardedOwn, hExpect:
			continue
		case hCookie:
			if fr.hadCookie {
				continue
			}
		}
		if !f.dropped() {
			writeField(w, f)
		}
	}
	for _, line := range fr.cookieRest {
		writeHeader(w, "Cookie", line)
	}
	w.WriteString("X-Forwarded-For: ")
	for i := range h.fields {
		if f := &h.fields[i]; f.kind == hXForwardedFor {
			w.Write(f.value)
			w.WriteString(", ")
		}
	}
	w.WriteString(c.clientIP)
	w.WriteString("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ")
	w.Write(h.host)
	w.WriteString("\r\nX-Real-Ip: ")
	w.WriteString(c.clientIP)
	w.WriteString("\r\n")
	switch {
	case fr.chunkedBody:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case h.contentLength >= 0:
		c.scratch = strconv.AppendInt(c.scratch[:0], h.contentLength, 10)
		w.WriteString("Content-Length: ")
		w.Write(c.scratch)
		w.WriteString("\r\n")
	}
	if fr.upgrade != nil {
		w.WriteString("Connection: Upgrade\r\nUpgrade: ")
		w.Write(fr.upgrade)
		w.WriteString("\r\n")
	}
	_, err := w.WriteString("\r\n")
	return err
}

// Body framings of a response written to the client.
const (
	framingNone    = iota // no body (HEAD, 204, 304, 1xx)
	framingLength         // Content-Length
	framingChunked        // chunked transfer coding
	framingClose          // until the connection closes (HTTP/1.0 clients)
)

// copyResponse sends resp to the client and reports whether the client
// connection can serve another request. The backend connection is kept only when
// its response was read completely and it did not ask to close.
func (c *clientConn) copyResponse(b *backend, bc *backendConn, fr *fwdReq, resp *respHead) bool {
	framing := framingLength
	switch {
	case resp.noBody:
		framing = framingNone
	case resp.contentLength >= 0:
	case fr.h.atLeast11():
		framing = framingChunked
	default:
		framing = framingClose
		fr.keep = false
	}
	if fr.hasBody && !fr.body.eof {
		fr.keep = false // the instance answered before reading the whole body
	}
	c.writeResponseHead(b, fr, resp, framing)
	var n int64
	var rerr, werr error
	switch {
	case framing == framingNone:
	case framing == framingLength && int64(bc.br.Buffered()) >= resp.contentLength:
		// The whole body is buffered already (a small response): one copy.
		body, _ := bc.br.Peek(int(resp.contentLength))
		_, werr = c.bw.Write(body)
		bc.br.Discard(len(body))
		n = int64(len(body))
	case resp.chunked:
		n, rerr, werr = c.copyResponseBody(newChunkedReader(bc.br), framing == framingChunked, bc.br)
	case resp.contentLength >= 0:
		c.body = lengthReader{r: bc.br, n: resp.contentLength}
		n, rerr, werr = c.copyResponseBody(&c.body, false, bc.br)
	default: // until the instance closes the connection
		n, rerr, werr = c.copyResponseBody(bc.br, framing == framingChunked, bc.br)
	}
	if werr == nil {
		werr = c.bw.Flush()
	}
	b.bytesOut.Add(uint64(n))
	if rerr == nil && werr == nil && resp.close {
		c.retire(bc)
		return fr.keep
	}
	if rerr != nil || werr != nil {
		c.dropBackend(bc)
		if rerr != nil {
			b.pool.setLastError(b, "reading the response body: "+rerr.Error())
		}
		return false
	}
	bc.lastUsed = time.Now()
	return fr.keep
}

func (c *clientConn) writeResponseHead(b *backend, fr *fwdReq, resp *respHead, framing int) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(resp.status)
	w.WriteString("\r\n")
	for i := range resp.fields {
		if f := &resp.fields[i]; f.kind != hContentLength && !f.dropped() {
			writeField(w, f)
		}
	}
	w.WriteString("X-Devcluster-Instance: ")
	w.WriteString(b.id)
	w.WriteString("\r\n")
	if st := c.p.sticky; st != nil && st.mode == "cookie" && resp.code >= 200 && (!fr.hadCookie || fr.cookie != b.id) {
		writeHeader(w, "Set-Cookie", st.cookie+"="+b.id+"; Path=/")
		if !resp.cacheControl {
			writeHeader(w, "Cache-Control", "private")
		}
	}
	switch framing {
	case framingNone:
		if resp.contentLength >= 0 && resp.code != http.StatusNoContent && resp.code >= 200 {
			c.writeContentLength(resp.contentLength)
		}
	case framingLength:
		c.writeContentLength(resp.contentLength)
	case framingChunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if resp.code >= 200 {
		if !fr.keep {
			w.WriteString("Connection: close\r\n")
		} else if !fr.h.atLeast11() {
			w.WriteString("Connection: keep-alive\r\n")
		}
	}
	w.WriteString("\r\n")
}

func (c *clientConn) writeContentLength(n int64) {
	c.scratch = strconv.AppendInt(c.scratch[:0], n, 10)
	c.bw.WriteString("Content-Length: ")
	c.bw.Write(c.scratch)
	c.bw.WriteString("\r\n")
}
