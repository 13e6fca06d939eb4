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
	p         *Proxy
	ctx       context.Context
	conn      net.Conn
	lr        connReader
	br        *bufio.Reader
	bw        *bufio.Writer
	clientIP  string
	localPort string // the port the client connected to, for X-Forwarded-Port
	proto     string // X-Forwarded-Proto: "http", or "https" over TLS (tls.go)
	// redirectPort: answer every request with a redirect to HTTPS on this port
	// (Config.RedirectHTTP; tls.go).
	redirectPort string
	linger       bool // an error answer closes the connection: see lingerClose
	state        atomic.Int32
	rdl          lazyDeadline // read deadline: idle, head, body timeouts
	wdl          lazyDeadline // write deadline: ClientWriteTimeout

	conns   backendConns // this client connection's connections to instances
	fr      fwdReq       // reused for each request
	rh      reqHead      // the current request's head
	resp    respHead     // the current response's head
	reqBody lengthReader // a request body of known length
	body    lengthReader // a response body of known length
	scratch []byte
	idBuf   [32]byte // a generated request id (requestid.go)
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

// fwdReq is the per-request state of the forwarding path.
type fwdReq struct {
	h              *reqHead
	isHead         bool
	hasBody        bool
	chunkedBody    bool
	body           countingReader
	expectContinue bool
	sentContinue   bool
	sentInterim    bool   // a 1xx reached the client: the request cannot be sent again
	staleRetried   bool   // a failure on a reused connection was retried already
	upgrade        []byte // Upgrade header of an upgrade request
	keep           bool   // client connection stays open after the response
	idempotent     bool
	cookie         string // the sticky cookie's value sent by the client
	hadCookie      bool
	cookieRest     []string // the Cookie lines without the sticky cookie, when hadCookie
	ri             reqInfo

	// For X-Request-Id, Server-Timing and Config.OnRequest (reqinfo.go).
	reqID    []byte
	start    time.Time     // the request head was read
	sentAt   time.Time     // the current attempt began sending
	headAt   time.Time     // its response head came
	upstream time.Duration // headAt - sentAt of the attempt answered
	pool     *pool
	b        *backend // the instance of the last attempt
	status   int      // sent to the client
	bytesOut int64
	retries  int
	sticky   bool   // the sticky instance was chosen
	decision string // see RequestInfo.Decision
	errClass string // see RequestInfo.ErrorClass

	// Faults of this request alone, from X-Devcluster-Fault (fault.go).
	hdrFaults  faultSet
	hasFaults  bool
	faultErr   error // a malformed X-Devcluster-Fault: 400
	resetFault bool  // a reset fault hit: the response is cut (faultapply.go)
	local      bool  // served by Config.Local (local.go), not reported
}

func (p *Proxy) newClientConn(ctx context.Context, nc net.Conn) *clientConn {
	c := p.initClientConn(ctx, nc, nc, rawConnOf(nc))
	c.state.Store(connActive)
	p.track(c, true)
	return c
}

// initClientConn readies c for nc; addrs gives the client's and the local
// address (nc itself, or the HTTP/2 connection a stream of which nc is).
func (p *Proxy) initClientConn(ctx context.Context, nc net.Conn, addrs net.Conn, rc syscall.RawConn) *clientConn {
	c := &clientConn{p: p, ctx: ctx, conn: nc, proto: "http"}
	c.rdl.conn = nc
	c.wdl.conn, c.wdl.write = nc, true
	c.conns = p.newBackendConns()
	c.rh.lim = headLimits{startLine: p.cfg.MaxRequestLine, head: p.cfg.MaxHeaderBytes, fields: p.cfg.MaxHeaderFields}
	sio := newSockIO(nc, rc)
	c.lr = connReader{conn: sio, remain: math.MaxInt64}
	c.br = p.getReader(&c.lr)
	c.bw = p.getWriter(sio)
	if host, _, err := net.SplitHostPort(addrs.RemoteAddr().String()); err == nil {
		c.clientIP = host
	} else {
		c.clientIP = addrs.RemoteAddr().String()
	}
	c.localPort = portOf(addrs.LocalAddr())
	return c
}

// portOf is addr's port, or "".
func portOf(addr net.Addr) string {
	if _, port, err := net.SplitHostPort(addr.String()); err == nil {
		return port
	}
	return ""
}

func (c *clientConn) close() {
	c.state.Store(connClosed)
	if c.linger && c.ctx.Err() == nil {
		c.lingerClose()
	}
	c.p.track(c, false)
	c.conn.Close()
	c.conns.closeAll()
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
			c.headFailed(err)
			return
		}
		// A tunnel may take any time; a body, BodyTimeout per read (countingReader).
		if c.rh.upgrade != nil || c.p.cfg.BodyTimeout < 0 && (c.rh.chunked || c.rh.contentLength > 0) {
			c.rdl.clear()
		}
		if !c.handle() {
			return
		}
	}
}

// Lingering close, as RFC 9112 9.6 and net/http's Server do: after an error
// answer that ends the connection (a 414, a 431, a body timeout), unread bytes
// of the request would make close reset the connection, and the client could
// lose the answer before reading it. The proxy half-closes instead and reads
// what still comes, for a while and up to a bound, before closing.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerMax     = 256 << 10
)

func (c *clientConn) lingerClose() {
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, c.conn, lingerMax)
}

// armWrite gives the writes of the next response ClientWriteTimeout to make
// progress: a client that stops reading does not hold its instance for ever.
func (c *clientConn) armWrite() {
	if t := c.p.cfg.ClientWriteTimeout; t > 0 {
		c.wdl.set(time.Now(), t)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// handle serves one request and reports whether the client connection can
// serve another. Config.OnRequest hears of it once it has ended.
func (c *clientConn) handle() bool {
	keep := c.handleRequest()
	if c.p.cfg.OnRequest != nil && !c.fr.local {
		c.report(&c.fr)
	}
	return keep
}

// handleRequest forwards one request, with retries, or serves it locally.
func (c *clientConn) handleRequest() bool {
	fr := c.newFwdReq()
	h := fr.h
	if h.major != 1 {
		c.writeError(fr, http.StatusHTTPVersionNotSupported, "", "only HTTP/1.x is proxied", false)
		return false
	}
	if status, msg := refuse(h); status != 0 {
		c.writeError(fr, status, "", msg, false)
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
	if c.redirectPort != "" {
		return c.redirectToHTTPS(fr)
	}
	if c.isLocal(h.path) {
		return c.serveLocal(fr)
	}
	if fr.faultErr != nil {
		c.writeError(fr, http.StatusBadRequest, "", fr.faultErr.Error(), fr.bodyKeep())
		return fr.bodyKeep()
	}
	pl, hosts := c.p.routeRequest(h.host, h.path)
	if pl == nil {
		if hosts {
			c.writeHostsPage(fr, fr.bodyKeep())
		} else {
			c.writeError(fr, http.StatusNotFound, "", "no process is balanced under "+h.path, fr.bodyKeep())
		}
		return fr.bodyKeep()
	}
	if st := c.p.sticky; st != nil && st.mode == "cookie" {
		c.splitStickyCookie(fr, st.cookie)
	}
	fr.pool = pl
	return c.balance(pl, fr)
}

// newFwdReq resets c.fr for the request in c.rh.
func (c *clientConn) newFwdReq() *fwdReq {
	h := &c.rh
	fr := &c.fr
	*fr = fwdReq{h: h, ri: reqInfo{path: h.path, clientIP: c.clientIP}, start: time.Now()}
	c.setRequestID(fr)
	if c.p.cfg.FaultHeaders {
		c.readFaultHeaders(fr)
	}
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
	if fr.hasBody && c.p.cfg.BodyTimeout > 0 {
		fr.body.dl, fr.body.timeout = &c.rdl, c.p.cfg.BodyTimeout
	}
	fr.idempotent = isIdempotent(h.method)
	fr.isHead = string(h.method) == http.MethodHead
	return fr
}

// bodyKeep reports whether the client connection can serve another request: a
// body not read to its end leaves it unusable.
func (fr *fwdReq) bodyKeep() bool { return fr.keep && (!fr.hasBody || fr.body.eof) }

// balance sends fr to an instance of pl, waiting for one to be ready and trying
// others as the retry rule allows, and answers the client itself when none could.
func (c *clientConn) balance(pl *pool, fr *fwdReq) bool {
	var tried [8]*backend
	nTried := 0
	var waitUntil time.Time
	var last *proxyError
	for attempt := 0; ; attempt++ {
		v := pl.view.Load()
		if len(v.ready) == 0 && c.stickyTo(v, fr) == nil {
			if waitUntil.IsZero() {
				waitUntil = time.Now().Add(c.p.cfg.WaitForBackend)
			}
			if v = pl.wait(c.ctx, waitUntil); v == nil {
				if last != nil {
					c.writeProxyError(fr, last, fr.bodyKeep())
				} else {
					fr.errClass = ErrorConnect // no instance to connect to
					c.writeError(fr, http.StatusServiceUnavailable, "", pl.describe(), fr.bodyKeep())
				}
				return fr.bodyKeep()
			}
		}
		b := c.pick(pl, v, fr, tried[:nTried])
		out := c.forward(b, fr)
		if out.err == nil {
			return out.keep
		}
		last = out.err
		if !out.retry || attempt >= c.p.cfg.Retries {
			keep := fr.bodyKeep() && out.keep
			if out.err.status != 0 {
				c.writeProxyError(fr, out.err, keep)
			}
			return keep
		}
		b.retries.Add(1)
		fr.retries++
		fr.addDecision("retried from " + b.id + ": " + out.why)
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
		if b := c.stickyTo(v, fr); b != nil && (!contains(tried, b) || len(v.ready) == 0) {
			fr.sticky = true
			return b
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

// stickyTo returns the instance in v that fr's client is stuck to, or nil. A
// drained instance (SetDrain) still serves its sticky clients.
func (c *clientConn) stickyTo(v *poolView, fr *fwdReq) *backend {
	st := c.p.sticky
	if st == nil {
		return nil
	}
	if id := st.lookup(&fr.ri, fr.cookie); id != "" {
		return v.find(id)
	}
	return nil
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
