package proxy

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The writing side of an HTTP/2 connection. Streams encode their frames into
// the connection's out buffer, under its mutex; one writer goroutine sends
// what is there in one write, so that the responses ready together (a HEADERS
// and a DATA frame each) cost one write and a few TLS records, not a write
// per frame. A stream wakes the writer when its response is complete or
// flushed (SSE), and waits for it when a send window is shut or out is full.

const h2OutMax = 256 << 10 // a stream waits when this much is not written yet

// outWriter is the write Framer's writer: out, under c.mu.
type outWriter struct{ c *h2sConn }

func (w outWriter) Write(p []byte) (int, error) {
	w.c.out = append(w.c.out, p...)
	return len(p), nil
}

// outBuf is the HPACK encoder's output, a header block being made.
type outBuf struct{ b []byte }

func (o *outBuf) Write(p []byte) (int, error) {
	o.b = append(o.b, p...)
	return len(p), nil
}

func (c *h2sConn) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *h2sConn) wakeLocked() { c.wake() }

// writeLoop sends out until the connection closes.
func (c *h2sConn) writeLoop() {
	defer close(c.wdone)
	for range c.kick {
		runtime.Gosched() // the streams ready now add their frames to this write
		for {
			c.mu.Lock()
			b, closing := c.out, c.closing
			c.out = c.spare[:0]
			c.spare = nil
			if c.werr != nil {
				b = nil
			}
			c.mu.Unlock()
			if len(b) == 0 {
				c.mu.Lock()
				c.spare = b[:0]
				c.mu.Unlock()
				if closing {
					c.tc.Close()
					return
				}
				break
			}
			_, err := c.tc.Write(b)
			c.mu.Lock()
			if cap(b) <= 2*h2OutMax {
				c.spare = b[:0]
			}
			if err != nil && c.werr == nil {
				c.werr = err
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			if err != nil {
				c.tc.Close()
				return
			}
		}
	}
}

func (st *h2sStream) Header() http.Header { return st.hdr }

// WriteHeader sends an interim head (1xx) at once; the final one goes with
// the first body bytes, or with END_STREAM.
func (st *h2sStream) WriteHeader(code int) {
	if st.sentHeaders {
		return
	}
	if code < 200 {
		st.writeHeaders(code, false)
		clear(st.hdr)
		return
	}
	st.status = code
}

func (st *h2sStream) Write(p []byte) (int, error) {
	if !st.sentHeaders {
		if st.status == 0 {
			st.status = http.StatusOK
		}
		if err := st.writeHeaders(st.status, false); err != nil {
			return 0, err
		}
	}
	if err := st.writeData(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush sends what was written now.
func (st *h2sStream) Flush() {
	if !st.sentHeaders && st.status != 0 {
		st.writeHeaders(st.status, false)
	}
	st.c.wake()
}

// writeHeaders encodes a head of st.hdr into a HEADERS frame, and
// CONTINUATION frames if the client's frame size needs them.
func (st *h2sStream) writeHeaders(code int, end bool) error {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil || st.reset {
		return errH2Gone
	}
	if code >= 200 {
		st.sentHeaders = true
	}
	c.hbuf.b = c.hbuf.b[:0]
	c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(code)})
	for k, vs := range st.hdr {
		name := lowerHeader(k)
		for _, v := range vs {
			// A request ID is never sent twice: not worth a place in the
			// dynamic table, where it would push out what is.
			c.henc.WriteField(hpack.HeaderField{Name: name, Value: v, Sensitive: name == "x-request-id"})
		}
	}
	block := c.hbuf.b
	first := true
	for first || len(block) > 0 {
		frag := block[:min(len(block), c.peerFrame)]
		block = block[len(frag):]
		if first {
			c.wf.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: frag, EndStream: end, EndHeaders: len(block) == 0})
			first = false
		} else {
			c.wf.WriteContinuation(st.id, len(block) == 0, frag)
		}
	}
	if end || code < 200 {
		c.wakeLocked()
	}
	return nil
}

// writeData sends p in DATA frames as the send windows allow, and END_STREAM
// with the last if end.
func (st *h2sStream) writeData(p []byte, end bool) error {
	c := st.c
	if len(p) == 0 && !end {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.werr != nil || st.reset {
			return errH2Gone
		}
		n := min(int64(len(p)), int64(c.peerFrame), st.sendWin, c.sendWin)
		if len(p) > 0 && n <= 0 || len(c.out) >= h2OutMax {
			c.wakeLocked() // what is out there may bring WINDOW_UPDATEs back
			c.cond.Wait()
			continue
		}
		last := end && int(n) == len(p)
		c.wf.WriteData(st.id, last, p[:n])
		p = p[n:]
		st.sendWin -= n
		c.sendWin -= n
		if len(p) == 0 {
			if last {
				c.wakeLocked()
			}
			return nil
		}
	}
}

// statusText is code as :status wants it.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 404:
		return "404"
	case 304:
		return "304"
	}
	return strconv.Itoa(code)
}

// commonLower holds the lower-case names of common response fields, so that
// encoding them allocates nothing.
var commonLower = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Age", "Cache-Control", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Type", "Date", "Etag", "Expires", "Last-Modified", "Location", "Server",
		"Set-Cookie", "Vary", "Via", "X-Request-Id", "X-Devcluster-Instance", "Content-Disposition",
		"Access-Control-Allow-Origin", "Strict-Transport-Security", "X-Content-Type-Options", "Retry-After"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

func lowerHeader(k string) string {
	if v, ok := commonLower[k]; ok {
		return v
	}
	return strings.ToLower(k)
}
