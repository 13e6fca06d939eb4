package proxy

import (
	"net/http"
	"strconv"
)

// proxyError is an error answered by the proxy itself, before any byte of an
// instance's response reached the client.
type proxyError struct {
	status int
	b      *backend // the instance involved, if any
	msg    string
}

func (c *clientConn) writeProxyError(fr *fwdReq, e *proxyError, keep bool) {
	id := ""
	msg := e.msg
	if e.b != nil {
		id = e.b.id
		msg = e.b.id + " (" + e.b.addr() + "): " + msg
	}
	c.writeError(fr, e.status, id, msg, keep)
}

// writeError answers with a plain-text body "502 Bad Gateway: web.2 (…): cause".
// fr may be nil when the request could not be parsed.
func (c *clientConn) writeError(fr *fwdReq, status int, instance, msg string, keep bool) {
	body := strconv.Itoa(status) + " " + http.StatusText(status) + ": " + msg + "\n"
	c.writePage(fr, status, "text/plain; charset=utf-8", instance, body, keep)
}

// writePage answers with the proxy's own body of type ctype (an error, the
// hosts page).
func (c *clientConn) writePage(fr *fwdReq, status int, ctype, instance, body string, keep bool) {
	c.armWrite()
	w := c.bw
	w.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
	writeHeader(w, "Content-Type", ctype)
	writeHeader(w, "Cache-Control", "no-store")
	writeHeader(w, "Content-Length", strconv.Itoa(len(body)))
	if instance != "" {
		writeHeader(w, "X-Devcluster-Instance", instance)
	}
	if fr != nil {
		fr.status = status
		w.WriteString("X-Request-Id: ")
		w.Write(fr.reqID)
		w.WriteString("\r\n")
	}
	if !keep {
		w.WriteString("Connection: close\r\n")
		c.linger = true
	}
	w.WriteString("\r\n")
	if fr == nil || !fr.isHead {
		w.WriteString(body)
	}
	w.Flush()
}
