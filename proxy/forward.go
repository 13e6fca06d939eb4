package proxy

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// outcome of one forwarding attempt. err nil: a response was sent (or the client
// went away); err non-nil: nothing reached the client yet.
type outcome struct {
	keep  bool
	err   *proxyError
	retry bool
}

// forward runs one attempt against b: send the request, read the response head,
// then copy the response (or open a tunnel).
func (c *clientConn) forward(b *backend, fr *fwdReq) outcome {
	b.begin()
	defer b.end()
	bc, reused, err := c.conns.acquire(c.ctx, b)
	if err != nil {
		detail := describeDialError(b.addr(), err, c.p.cfg.ConnectTimeout)
		// Passive check: a refused connection takes the instance down at once; a
		// connect timeout counts as one failed check.
		b.pool.report(b, false, detail, !isTimeout(err))
		return outcome{retry: true, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}
	}
	if out, ok := c.sendRequest(b, bc, fr); !ok {
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
	keep := c.copyResponse(b, bc, fr, resp)
	return outcome{keep: keep}
}

// sendRequest writes the request head and body to bc. ok false: the attempt
// ended, as out says.
func (c *clientConn) sendRequest(b *backend, bc *backendConn, fr *fwdReq) (out outcome, ok bool) {
	err := c.writeRequestHead(bc.bw, b, fr)
	if err == nil && fr.hasBody {
		if fr.expectContinue && !fr.sentContinue {
			fr.sentContinue = true
			c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := c.bw.Flush(); err != nil {
				c.conns.retire(bc, false)
				return outcome{keep: false}, false
			}
		}
		var n int64
		n, err = c.copyBody(bc.bw, &fr.body, fr.chunkedBody, c.br)
		b.bytesIn.Add(uint64(n))
		if fr.body.readErr != nil {
			c.conns.retire(bc, false)
			return outcome{keep: false, err: &proxyError{status: http.StatusBadRequest, msg: "reading the request body: " + fr.body.readErr.Error()}}, false
		}
	}
	if err == nil {
		err = bc.bw.Flush()
	}
	if err != nil {
		c.conns.retire(bc, false)
		detail := "sending the request to " + b.addr() + ": " + err.Error()
		b.pool.setLastError(b, detail)
		return outcome{retry: fr.body.n == 0, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}, false
	}
	return outcome{}, true
}

// readResponseHead reads the final response head into c.resp, passing interim
// ones on. ok false: the attempt ended, as out says.
func (c *clientConn) readResponseHead(b *backend, bc *backendConn, fr *fwdReq, reused bool) (out outcome, ok bool) {
	bc.rdl.set(time.Now(), c.p.cfg.ResponseTimeout)
	resp := &c.resp
	err := resp.read(bc.br, fr.isHead)
	for err == nil && resp.code < 200 && resp.code != http.StatusSwitchingProtocols {
		// Interim response (103 Early Hints, 100 Continue): pass it on.
		c.writeResponseHead(b, fr, resp, framingNone)
		c.bw.Flush()
		err = resp.read(bc.br, fr.isHead)
	}
	if err != nil {
		c.conns.retire(bc, false)
		if isTimeout(err) {
			detail := "no response header within " + c.p.cfg.ResponseTimeout.String()
			b.pool.setLastError(b, detail)
			return outcome{keep: false, err: &proxyError{status: http.StatusGatewayTimeout, b: b, msg: detail}}, false
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
		return outcome{retry: retry, keep: true, err: &proxyError{status: http.StatusBadGateway, b: b, msg: detail}}, false
	}
	// A body that is not all here may take any time (a stream).
	if resp.code == http.StatusSwitchingProtocols || !resp.noBody &&
		(resp.contentLength < 0 || int64(bc.br.Buffered()) < resp.contentLength) {
		bc.rdl.clear()
	}
	return outcome{}, true
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
		c.conns.retire(bc, true)
		return fr.keep
	}
	if rerr != nil || werr != nil {
		c.conns.retire(bc, false)
		if rerr != nil {
			b.pool.setLastError(b, "reading the response body: "+rerr.Error())
		}
		return false
	}
	c.conns.release(bc)
	return fr.keep
}
