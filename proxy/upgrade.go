package proxy

import (
	"net/http"
	"strconv"
	"sync"
)

// upgradeMismatch explains why a 101 Switching Protocols must not become a
// tunnel, or returns "": the client asked for no upgrade, or the instance
// switched to another protocol than the one asked for (or named none), which
// httputil.ReverseProxy also answers with 502.
func upgradeMismatch(asked, got []byte) string {
	switch {
	case asked == nil:
		return "101 Switching Protocols without an upgrade request"
	case got == nil:
		return "101 Switching Protocols without an Upgrade header (" + strconv.Quote(string(asked)) + " was requested)"
	case !asciiEqualFoldBytes(asked, got):
		return "the instance tried to switch protocol to " + strconv.Quote(string(got)) + " when " + strconv.Quote(string(asked)) + " was requested"
	}
	return ""
}

// tunnel relays an upgraded connection (WebSocket) both ways until either side
// closes, then closes both. The request counts as in flight until then. A
// WebSocket's ends when the instance is drained (see goaway.go).
func (c *clientConn) tunnel(b *backend, bc *backendConn, fr *fwdReq, resp *respHead) {
	away := b.awayChan()
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(resp.status)
	w.WriteString("\r\n")
	for i := range resp.fields {
		if f := &resp.fields[i]; f.kind != hRequestID && f.kind != hInstance && !f.dropped() {
			writeField(w, f)
		}
	}
	writeHeader(w, "X-Devcluster-Instance", b.id)
	w.WriteString("X-Request-Id: ")
	w.Write(fr.reqID)
	w.WriteString("\r\nConnection: Upgrade\r\nUpgrade: ")
	w.Write(resp.upgrade)
	w.WriteString("\r\n\r\n")
	if err := w.Flush(); err != nil {
		c.p.closeBackendConn(bc)
		return
	}
	fr.status = http.StatusSwitchingProtocols
	c.wdl.clear() // a tunnel may be quiet for any time
	c.state.Store(connTunnel)
	if c.ctx.Err() != nil {
		c.p.closeBackendConn(bc)
		return
	}
	closeBoth := sync.OnceFunc(func() {
		c.conn.Close()
		bc.conn.Close()
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !asciiEqualFoldBytes(resp.upgrade, []byte("websocket")) {
			n, _ := bc.br.WriteTo(c.conn)
			b.bytesOut.Add(uint64(n))
			closeBoth()
			return
		}
		r := &frameRelay{src: bc.br, srcConn: bc.conn, dst: c.conn}
		goingAway := r.relay(away)
		b.bytesOut.Add(uint64(r.n))
		if !goingAway {
			closeBoth()
			return
		}
		// The client answers the close frame, or its read below times out.
		goAway(c.conn, bc.conn)
	}()
	n, _ := c.br.WriteTo(bc.conn)
	b.bytesIn.Add(uint64(n))
	closeBoth()
	<-done
	c.p.closeBackendConn(bc)
}
