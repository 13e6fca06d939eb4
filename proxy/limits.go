package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/devcluster/devcluster/internal/defaults"
)

// Limits on what a client may send, as nginx's and HAProxy's defaults: an
// oversized or malformed request is answered by the proxy and never reaches the
// app. The sizes are Config's MaxRequestLine (8 KiB, then 414), MaxHeaderBytes
// (64 KiB, then 431) and MaxHeaderFields (100, then 431).
const (
	DefaultMaxRequestLine  = defaults.MaxRequestLine
	DefaultMaxHeaderFields = defaults.MaxHeaderFields
)

// headFailed answers a request head that could not be read, and the
// connection then closes. A client that went away or timed out gets nothing.
func (c *clientConn) headFailed(err error) {
	var he *headError
	switch {
	case c.lr.hit:
		c.writeError(nil, http.StatusRequestHeaderFieldsTooLarge, "",
			"request header is larger than "+strconv.Itoa(c.p.cfg.MaxHeaderBytes)+" bytes", false)
	case isTimeout(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	case errors.As(err, &he) && he.status != 0:
		c.writeError(nil, he.status, "", he.msg, false)
	case errors.As(err, &he):
		c.writeError(nil, http.StatusBadRequest, "", "malformed request head: "+he.msg, false)
	default:
		c.writeError(nil, http.StatusBadRequest, "", "malformed request head", false)
	}
}

// refuse returns the status and reason for a well-formed HTTP/1.x request the
// proxy does not forward, or 0.
func refuse(h *reqHead) (int, string) {
	switch {
	case h.minor >= 1 && h.hostHeaders == 0:
		return http.StatusBadRequest, "HTTP/1.1 request without a Host header (RFC 9112 3.2)"
	case h.minor == 0 && h.teSeen:
		// Else the body would be read as the next request (RFC 9112 6.1).
		return http.StatusBadRequest, "Transfer-Encoding in an HTTP/1.0 request"
	case string(h.method) == http.MethodConnect:
		return http.StatusMethodNotAllowed, "CONNECT is not supported: devcluster is a reverse proxy, not a forward one"
	case len(h.uri) == 1 && h.uri[0] == '*':
		// As nginx: a server-wide request (OPTIONS *) is no request for an app.
		return http.StatusBadRequest, "request target * is not forwarded"
	}
	return 0, ""
}
