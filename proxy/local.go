package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The proxy's own pages (Config.Local, the dashboard) are served on its
// listener, in the connection's goroutine, through a minimal
// http.ResponseWriter over the connection's buffered writer. A connection is
// not handed to an http.Server, because a browser's keep-alive connection
// carries both the dashboard's requests and the app's: each request is routed
// on its own. The request is rebuilt by http.ReadRequest from the raw head, so
// the handler sees what net/http would give it; the response is chunked
// unless the handler sets Content-Length, every Flush reaches the client (SSE),
// and there is no response timeout, only ClientWriteTimeout per write. The
// request's context ends when the client goes away (for a request without a
// body, a read in the background notices, as net/http's does), when a write
// fails, or when the proxy shuts down.

// isLocal reports whether path is Config.Local's: under LocalPrefix, or the
// prefix without its final slash.
func (c *clientConn) isLocal(path string) bool {
	if c.p.cfg.Local == nil {
		return false
	}
	pre := c.p.cfg.LocalPrefix
	return strings.HasPrefix(path, pre) || path == strings.TrimSuffix(pre, "/")
}

// serveLocal runs Config.Local for fr and reports whether the client
// connection can serve another request.
func (c *clientConn) serveLocal(fr *fwdReq) (keep bool) {
	fr.local = true
	if fr.upgrade != nil {
		c.writeError(fr, http.StatusNotImplemented, "", "no protocol upgrade under "+c.p.cfg.LocalPrefix, false)
		return false
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(fr.h.buf)))
	if err != nil {
		c.writeError(fr, http.StatusBadRequest, "", "reading the request: "+err.Error(), false)
		return false
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.conn.RemoteAddr().String()
	req.Body = http.NoBody
	if fr.hasBody {
		if fr.expectContinue {
			c.armWrite()
			c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			c.bw.Flush()
		}
		req.Body = io.NopCloser(&fr.body)
	}
	w := &localResponse{c: c, fr: fr, header: http.Header{}, cancel: cancel, cl: -1}
	defer func() {
		if r := recover(); r != nil {
			c.p.logf("local handler for %s panicked: %v", fr.h.path, r)
			keep = false
		}
	}()
	if !fr.hasBody {
		defer c.watchClose(cancel)() // before the recover above: the read ends first
	}
	c.p.cfg.Local.ServeHTTP(w, req)
	w.finish()
	if fr.hasBody && !fr.body.eof && fr.body.readErr == nil {
		io.CopyN(io.Discard, &fr.body, 256<<10) // as net/http, so the connection can go on
	}
	return fr.bodyKeep() && w.err == nil
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// watchClose reads from the client in the background, while a handler runs,
// and cancels when the client closes the connection. stop ends the read; any
// byte it got (a pipelined request) stays in c.br.
func (c *clientConn) watchClose(cancel context.CancelFunc) (stop func()) {
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.br.Peek(1); err != nil && !stopped.Load() {
			cancel()
		}
	}()
	return func() {
		stopped.Store(true)
		c.conn.SetReadDeadline(aLongTimeAgo)
		<-done
		c.conn.SetReadDeadline(time.Time{})
		c.rdl.at = time.Time{}
	}
}

// localResponse is the http.ResponseWriter (and http.Flusher) of a local request.
type localResponse struct {
	c      *clientConn
	fr     *fwdReq
	header http.Header
	cancel context.CancelFunc

	status  int
	sent    bool // the head is written
	framing int
	cl      int64 // Content-Length set by the handler; -1 none
	written int64
	err     error
}

func (w *localResponse) Header() http.Header { return w.header }

// WriteHeader records the status; the head goes out with the first Write or
// Flush, as net/http's. Interim (1xx) statuses are not sent.
func (w *localResponse) WriteHeader(code int) {
	if w.sent || w.status != 0 || code < 200 {
		return
	}
	if code > 999 {
		code = http.StatusInternalServerError
	}
	w.status = code
}

func (w *localResponse) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.sent {
		if w.header.Get("Content-Type") == "" && len(p) > 0 {
			w.header.Set("Content-Type", http.DetectContentType(p))
		}
		w.writeHead()
	}
	switch w.framing {
	case framingNone:
		if w.fr.isHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	case framingLength:
		if w.written+int64(len(p)) > w.cl {
			return 0, http.ErrContentLength
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	c := w.c
	c.armWrite()
	if w.framing == framingChunked {
		c.bw.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n")
	}
	n, err := c.bw.Write(p)
	if err == nil && w.framing == framingChunked {
		_, err = c.bw.WriteString("\r\n")
	}
	w.written += int64(n)
	if err != nil {
		w.fail(err)
		return n, err
	}
	return n, nil
}

// Flush sends what was written so far (http.Flusher), for SSE.
func (w *localResponse) Flush() { w.FlushError() }

// FlushError is Flush reporting the error, for http.ResponseController.
func (w *localResponse) FlushError() error {
	if w.err != nil {
		return w.err
	}
	if !w.sent {
		w.writeHead()
	}
	w.c.armWrite()
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

func (w *localResponse) fail(err error) {
	w.err = err
	w.fr.keep = false
	w.cancel()
}

// writeHead writes the status line and headers, choosing the body's framing.
func (w *localResponse) writeHead() {
	w.sent = true
	fr, h, bw := w.fr, w.header, w.c.bw
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if v := h.Get("Content-Length"); v != "" {
		if n, ok := parseContentLength([]byte(v)); ok {
			w.cl = n
		}
	}
	switch {
	case fr.isHead || w.status == http.StatusNoContent || w.status == http.StatusNotModified:
		w.framing = framingNone
	case w.cl >= 0:
		w.framing = framingLength
	case fr.h.atLeast11():
		w.framing = framingChunked
	default:
		w.framing = framingClose
		fr.keep = false
	}
	if strings.EqualFold(h.Get("Connection"), "close") {
		fr.keep = false
	}
	w.c.armWrite()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	if _, ok := h["Date"]; !ok {
		writeHeader(bw, "Date", time.Now().UTC().Format(http.TimeFormat))
	}
	h.WriteSubset(bw, map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "X-Request-Id": true})
	writeHeader(bw, "X-Request-Id", string(fr.reqID))
	if w.cl >= 0 && w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		writeHeader(bw, "Content-Length", strconv.FormatInt(w.cl, 10))
	}
	if w.framing == framingChunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !fr.keep {
		bw.WriteString("Connection: close\r\n")
	} else if !fr.h.atLeast11() {
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	fr.status = w.status
}

// finish ends the response once the handler has returned.
func (w *localResponse) finish() {
	if w.err != nil {
		return
	}
	if !w.sent {
		if w.cl < 0 && w.header.Get("Content-Length") == "" {
			w.header.Set("Content-Length", "0") // nothing was written
		}
		w.writeHead()
	}
	switch w.framing {
	case framingChunked:
		w.c.bw.WriteString("0\r\n\r\n")
	case framingLength:
		if w.written < w.cl {
			w.fr.keep = false // the handler wrote less than it announced
		}
	}
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
	}
}
