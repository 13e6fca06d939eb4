package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
)

// HTTPS at the proxy (Config.TLSConfig). A TLS connection is served by the
// same forwarding path as a plain one (fastpath.go) once its handshake is done
// and ALPN chose HTTP/1.1 (or nothing); HTTP/2 connections go to h2.go, whose
// streams are forwarded by that path too. The sockets are then read and
// written through crypto/tls, not the raw system calls of sockio_linux.go.

// serverTLS is the proxy's copy of cfg. Records are not sized down for the
// start of each connection (Go's dynamic record sizing favours the first
// paint of a page over a lossy network; on loopback it only costs records).
// Session tickets stay on (Go's default, keys rotated by crypto/tls): a
// client reconnecting resumes without a full handshake.
func serverTLS(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	c.DynamicRecordSizingDisabled = true
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if len(c.NextProtos) == 0 {
		c.NextProtos = []string{"h2", "http/1.1"}
	}
	return c
}

// serveTLS runs the handshake of nc, within ReadHeaderTimeout (a client that
// opens a connection and says nothing holds no slot longer than one that sends
// half a head), then serves it as HTTP/2 or HTTP/1.1.
func (p *Proxy) serveTLS(ctx context.Context, nc net.Conn) {
	if rc := rawConnOf(nc); rc != nil {
		nc = &sockConn{Conn: nc, sio: newSockIO(nc, rc)}
	}
	tc := tls.Server(nc, p.tls)
	hctx, cancel := context.WithTimeout(ctx, p.cfg.ReadHeaderTimeout)
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		nc.Close() // nothing to say: the client did not finish its handshake
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		p.serveH2(ctx, tc)
		return
	}
	c := p.initClientConn(ctx, tc, tc, nil)
	c.proto = "https"
	c.state.Store(connActive)
	p.track(c, true)
	c.serve()
}

// sockConn is a TCP connection read and written with sockIO's raw system
// calls, under crypto/tls: the records of a TLS connection then cost what a
// plain connection's reads and writes cost (see sockIO: no P handed off to
// another thread in a read or write), where through net.Conn's own Read and
// Write the TLS keep-alive path paid it on every request. Deadlines and Close
// are net.Conn's.
type sockConn struct {
	net.Conn
	sio *sockIO
}

func (c *sockConn) Read(p []byte) (int, error)  { return c.sio.Read(p) }
func (c *sockConn) Write(p []byte) (int, error) { return c.sio.Write(p) }

// redirectToHTTPS answers fr with a 308 to the same URL over HTTPS on
// c.redirectPort (Config.RedirectHTTP), and reports whether the connection
// can serve another request. 308 keeps the method and body, as 301 does not.
func (c *clientConn) redirectToHTTPS(fr *fwdReq) bool {
	fr.local = true // the proxy's own answer, as the dashboard's: not an app request
	host := string(fr.h.host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		host = "localhost"
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	target := "https://" + host
	if c.redirectPort != "443" {
		target += ":" + c.redirectPort
	}
	uri := string(fr.h.uri)
	if len(uri) == 0 || uri[0] != '/' {
		uri = "/" // an absolute-form or * target: the root
	}
	target += uri
	keep := fr.bodyKeep()
	body := "308 Permanent Redirect: this address serves HTTP; use " + target + "\n"
	w := c.bw
	c.armWrite()
	w.WriteString("HTTP/1.1 308 Permanent Redirect\r\n")
	writeHeader(w, "Location", target)
	writeHeader(w, "Content-Type", "text/plain; charset=utf-8")
	writeHeader(w, "Content-Length", strconv.Itoa(len(body)))
	w.WriteString("X-Request-Id: ")
	w.Write(fr.reqID)
	w.WriteString("\r\n")
	if !keep {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	if !fr.isHead {
		w.WriteString(body)
	}
	fr.status = http.StatusPermanentRedirect
	return w.Flush() == nil && keep
}
