package proxy

import (
	"errors"
	"io"
	"net/http"
	"syscall"
	"time"
)

// outcome of one forwarding attempt. err nil: a response was sent (or the client
// went away); err non-nil: nothing reached the client yet.
type outcome struct {
	keep  bool
	err   *proxyError
	retry bool
	why   string // for a retry: "refused", "connect timeout", "503"... (RequestInfo.Decision)
}

// forward runs one attempt against b: send the request, read the response head,
// then copy the response (or open a tunnel).
func (c *clientConn) forward(b *backend, fr *fwdReq) outcome {
	b.begin()
	defer b.end()
	fr.b, fr.errClass, fr.upstream = b, "", 0
	if fs := c.p.faultsOf(b); fs != nil || fr.hasFaults {
		if out, done := c.applyFaults(b, fr, fs); done {
			return out
		}
	}
	bc, reused, err := c.conns.acquire(c.ctx, b)
	if err != nil && localResourceError(err) {
		// Out of descriptors (or ports, buffers): the proxy's trouble, not b's.
		// No passive check, no retry (another instance would meet the same
		// limit): a 503 that says what ran out.
		detail := describeDialError(b.addr(), err, c.p.cfg.ConnectTimeout) + ": " + localResourceHint(err) + "; not " + b.id + "'s failure"
		fr.errClass = ErrorConnect
		return outcome{keep: true, err: &proxyError{status: http.StatusServiceUnavailable, b: b, msg: detail}}
	}
	if err != nil {
		detail := describeDialError(b.addr(), err, c.p.cfg.ConnectTimeout)
		// Passive check: a refused connection takes the instance down at once; a
		// connect timeout counts as one failed check.
		b.pool.report(b, false, detail, !isTimeout(err))
		b.connFail.Add(1)
		fr.errClass = ErrorConnect
		return outcome{retry: c.mayRetry(failConnect, false, fr), keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}, why: connectWhy(err)}
	}
	if out, ok := c.sendRequest(b, bc, fr, reused); !ok {
		return out
	}
	resp := &c.resp
	if out, ok := c.readResponseHead(b, bc, fr, reused); !ok {
		return out
	}
	if resp.code == http.StatusSwitchingProtocols {
		if msg := upgradeMismatch(fr.upgrade, resp.upgrade); msg != "" {
			c.conns.retire(bc, false)
			return outcome{keep: false, err: &proxyError{status: http.StatusBadGateway, b: b, msg: msg}}
		}
		c.tunnel(b, bc, fr, resp)
		return outcome{keep: false}
	}
	if fr.resetFault {
		c.resetResponse(b, bc, fr, resp)
		return outcome{keep: false}
	}
	keep := c.copyResponse(b, bc, fr, resp)
	return outcome{keep: keep}
}

// sendRequest writes the request head and body to bc. ok false: the attempt
// ended, as out says.
func (c *clientConn) sendRequest(b *backend, bc *backendConn, fr *fwdReq, reused bool) (out outcome, ok bool) {
	fr.sentAt = time.Now()
	err := c.writeRequestHead(bc.bw, b, fr)
	if err == nil && fr.hasBody {
		if fr.expectContinue && !fr.sentContinue {
			fr.sentContinue = true
			c.armWrite()
			c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := c.bw.Flush(); err != nil {
				c.conns.retire(bc, false)
				return outcome{keep: false}, false
			}
		}
		var n int64
		n, err = c.copyBody(bc.bw, &fr.body, fr.chunkedBody, c.br)
		b.bytesIn.Add(uint64(n))
		if rerr := fr.body.readErr; rerr != nil {
			c.conns.retire(bc, false)
			if isTimeout(rerr) {
				return outcome{keep: false, err: &proxyError{status: http.StatusRequestTimeout, msg: "no request body bytes for " + c.p.cfg.BodyTimeout.String() + " (body_timeout)"}}, false
			}
			return outcome{keep: false, err: &proxyError{status: http.StatusBadRequest, msg: "reading the request body: " + rerr.Error()}}, false
		}
	}
	if err == nil {
		err = bc.bw.Flush()
	}
	if err != nil {
		c.conns.retire(bc, false)
		detail := "sending the request to " + b.addr() + ": " + err.Error()
		b.pool.setLastError(b, detail)
		fr.errClass = ErrorReset
		return outcome{retry: c.mayRetry(failSend, reused, fr), keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}, why: "sending failed (stale keep-alive connection?)"}, false
	}
	return outcome{}, true
}

// readResponseHead reads the final response head into c.resp, passing interim
// ones on. ok false: the attempt ended, as out says.
func (c *clientConn) readResponseHead(b *backend, bc *backendConn, fr *fwdReq, reused bool) (out outcome, ok bool) {
	now := time.Now()
	bc.rdl.set(now, c.p.cfg.ResponseTimeout)
	b.stall.sent(now)
	resp := &c.resp
	err := resp.read(bc.br, fr.isHead)
	fr.headAt = time.Now()
	fr.upstream = fr.headAt.Sub(fr.sentAt)
	b.stall.answered(fr.headAt, err == nil)
	for err == nil && resp.code < 200 && resp.code != http.StatusSwitchingProtocols {
		// Interim response (103 Early Hints, 100 Continue): pass it on.
		c.armWrite()
		c.writeResponseHead(b, fr, resp, framingNone)
		c.bw.Flush()
		fr.sentInterim = true
		err = resp.read(bc.br, fr.isHead)
	}
	if err != nil {
		return c.responseHeadFailed(b, bc, fr, reused, err), false
	}
	if resp.code == http.StatusServiceUnavailable && c.mayRetry(fail503, false, fr) {
		// The instance refused it: try another, as retry_on 503 asks.
		c.conns.retire(bc, false)
		b.pool.setLastError(b, "answered 503 Service Unavailable")
		return outcome{retry: true, keep: true, err: &proxyError{status: http.StatusServiceUnavailable, b: b, msg: "answered 503 Service Unavailable"}, why: "503"}, false
	}
	// A body that is not all here may take any time (a stream).
	if resp.code == http.StatusSwitchingProtocols || !resp.noBody &&
		(resp.contentLength < 0 || int64(bc.br.Buffered()) < resp.contentLength) {
		bc.rdl.clear()
	}
	return outcome{}, true
}

// responseHeadFailed ends an attempt whose response head could not be read.
// Whether any byte of it came decides the retry: none, and the connection may
// have been a stale keep-alive one; some, and the app saw the request.
func (c *clientConn) responseHeadFailed(b *backend, bc *backendConn, fr *fwdReq, reused bool, err error) outcome {
	c.conns.retire(bc, false)
	if isTimeout(err) {
		detail := "no response header within " + c.p.cfg.ResponseTimeout.String()
		b.pool.setLastError(b, detail)
		fr.errClass = ErrorTimeout
		return outcome{retry: c.mayRetry(failTimeout, reused, fr), keep: false, err: &proxyError{status: http.StatusGatewayTimeout, b: b, msg: detail}, why: "timeout"}
	}
	f := failResponse
	detail := "reading the response: " + err.Error()
	var he *headError
	switch {
	case errors.As(err, &he):
		detail = "malformed response head: " + he.msg // not the instance's bytes
	case len(c.resp.buf) == 0:
		f = failEmpty
		detail = "connection closed before a response"
		if !errors.Is(err, io.EOF) {
			detail = "connection lost before a response: " + err.Error()
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		detail = "connection closed in the middle of the response head"
	}
	if he == nil {
		fr.errClass = ErrorReset // the connection broke
	}
	b.pool.setLastError(b, detail)
	return outcome{retry: c.mayRetry(f, reused, fr), keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}, why: detail}
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
	framing := fr.framing(resp)
	c.armWrite()
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
	fr.bytesOut = n
	if rerr == nil && werr == nil && resp.close {
		c.conns.retire(bc, true)
		return fr.keep
	}
	if rerr != nil || werr != nil {
		c.conns.retire(bc, false)
		fr.errClass = ErrorReset
		if rerr != nil {
			b.pool.setLastError(b, "reading the response body: "+rerr.Error())
		}
		return false
	}
	c.conns.release(bc)
	return fr.keep
}

// framing decides how resp's body goes to the client, and whether the client
// connection stays open after it.
func (fr *fwdReq) framing(resp *respHead) int {
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
	return framing
}

// connectWhy is a failed connect's cause in a word or two, for the access log.
func connectWhy(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case isTimeout(err):
		return "connect timeout"
	}
	return "connect failed"
}
