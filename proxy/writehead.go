package proxy

import (
	"bufio"
	"net/http"
	"strconv"
)

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
// kept, hop-by-hop dropped, X-Forwarded-For appended to, X-Forwarded-Proto,
// -Host, -Port and X-Real-IP set, every other forwarding header of the client's
// (Forwarded, X-Forwarded-Prefix...) and a client's X-Devcluster-Instance
// dropped.
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
		case hContentLength, hHost, hXForwardedFor, hForwardedOwn, hExpect, hRequestID, hFault, hInstance:
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
	w.WriteString("\r\nX-Forwarded-Proto: ")
	w.WriteString(c.proto)
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.Write(h.host)
	w.WriteString("\r\nX-Forwarded-Port: ")
	w.WriteString(c.localPort)
	w.WriteString("\r\nX-Real-Ip: ")
	w.WriteString(c.clientIP)
	w.WriteString("\r\nX-Request-Id: ")
	w.Write(fr.reqID)
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

func (c *clientConn) writeResponseHead(b *backend, fr *fwdReq, resp *respHead, framing int) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(resp.status)
	w.WriteString("\r\n")
	for i := range resp.fields {
		if f := &resp.fields[i]; f.kind != hContentLength && f.kind != hRequestID && f.kind != hInstance && !f.dropped() {
			writeField(w, f)
		}
	}
	w.WriteString("X-Devcluster-Instance: ")
	w.WriteString(b.id)
	w.WriteString("\r\nX-Request-Id: ")
	w.Write(fr.reqID)
	w.WriteString("\r\n")
	if resp.code >= 200 {
		fr.status = resp.code
		c.writeServerTiming(fr)
	}
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
