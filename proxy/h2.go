package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// HTTP/2 for clients, HTTP/1.1 to the instances. golang.org/x/net/http2
// speaks the protocol (frames, flow control, HPACK); each stream's request is
// then written as an HTTP/1.1 head on a virtual connection (h2stream.go) and
// forwarded by the same clientConn code as a plain HTTP/1.1 request, so
// balancing, retries, faults, sticky sessions, the dashboard, stats and the
// access log are one path for every protocol. The response that path writes is
// read back into the stream's http.ResponseWriter.
//
// A stream's clientConn is taken from its HTTP/2 connection's free list and
// given back after the response: it keeps its backend connections open, so the
// streams of one client reuse keep-alive connections to the instances as an
// HTTP/1.1 client's requests do, as many at most as streams ran at once.

// h2Server is one Serve call's HTTP/2 server. hs exists only for graceful
// shutdown: http2.ConfigureServer hooks every connection served with it as
// BaseConfig to hs.Shutdown, which sends them GOAWAY.
type h2Server struct {
	srv *http2.Server
	hs  *http.Server
}

func (p *Proxy) newH2Server() *h2Server {
	s := &h2Server{
		srv: &http2.Server{IdleTimeout: p.cfg.IdleTimeout},
		hs:  &http.Server{},
	}
	http2.ConfigureServer(s.hs, s.srv)
	return s
}

// shutdown sends GOAWAY on every HTTP/2 connection: each ends once its
// streams have.
func (s *h2Server) shutdown() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // hs serves nothing itself: nothing to wait for
	s.hs.Shutdown(ctx)
}

// h2Conn is one HTTP/2 client connection.
type h2Conn struct {
	p   *Proxy
	ctx context.Context
	tc  *tls.Conn

	streams sync.WaitGroup // ServeHTTP calls running; added to under mu

	mu     sync.Mutex
	closed bool          // ServeConn returned
	free   []*clientConn // stream connections idle, with their backend connections
	all    []*clientConn
}

// serveH2 serves tc, whose client chose h2, until it ends.
func (p *Proxy) serveH2(ctx context.Context, tc *tls.Conn) {
	p.runMu.Lock()
	run := p.run
	p.runMu.Unlock()
	if run == nil || run.h2 == nil {
		tc.Close()
		return
	}
	hc := &h2Conn{p: p, ctx: ctx, tc: tc}
	p.trackH2(tc, true)
	defer p.trackH2(tc, false)
	run.h2.srv.ServeConn(tc, &http2.ServeConnOpts{Context: ctx, BaseConfig: run.h2.hs, Handler: hc})
	tc.Close()
	hc.mu.Lock()
	hc.closed = true
	hc.mu.Unlock()
	hc.streams.Wait() // their requests' contexts ended with the connection
	for _, c := range hc.all {
		c.conns.closeAll()
		c.p.putReader(c.br)
		c.p.putWriter(c.bw)
	}
	hc.all, hc.free = nil, nil
}

// ServeHTTP forwards one stream's request.
func (hc *h2Conn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := hc.get()
	if c == nil {
		panic(http.ErrAbortHandler) // the connection is gone: reset the stream
	}
	defer hc.streams.Done()
	defer hc.put(c)
	c.conn.(*streamConn).serveStream(c, w, r)
}

// get returns a stream connection for a new stream, counted in streams, or
// nil once the connection has ended.
func (hc *h2Conn) get() *clientConn {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.closed {
		return nil
	}
	hc.streams.Add(1)
	if n := len(hc.free); n > 0 {
		c := hc.free[n-1]
		hc.free = hc.free[:n-1]
		return c
	}
	sc := &streamConn{tc: hc.tc}
	c := hc.p.initClientConn(hc.ctx, sc, hc.tc, nil)
	c.proto = "https"
	hc.all = append(hc.all, c)
	return c
}

func (hc *h2Conn) put(c *clientConn) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.free = append(hc.free, c)
}

func (p *Proxy) trackH2(c net.Conn, add bool) {
	p.h2Mu.Lock()
	defer p.h2Mu.Unlock()
	if add {
		p.h2Conns[c] = struct{}{}
	} else {
		delete(p.h2Conns, c)
	}
}

// closeH2Conns closes every HTTP/2 connection, when the shutdown's time is up.
func (p *Proxy) closeH2Conns() {
	p.h2Mu.Lock()
	defer p.h2Mu.Unlock()
	for c := range p.h2Conns {
		c.Close()
	}
}
