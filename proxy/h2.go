package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// HTTP/2 for clients, HTTP/1.1 to the instances. The proxy's own server loop
// (h2conn.go: one reader goroutine per connection, h2write.go: one writer)
// speaks the protocol with golang.org/x/net/http2's Framer and hpack; each
// stream's request is then written as an HTTP/1.1 head on a virtual
// connection (h2stream.go) and forwarded by the same clientConn code as a
// plain HTTP/1.1 request, so balancing, retries, faults, sticky sessions, the
// dashboard, stats and the access log are one path for every protocol. The
// response that path writes is read back (h2resp.go) into the stream, whose
// frames go out with those of the other streams ready at the same time: one
// write, not one per frame.
//
// A stream's clientConn is taken from its HTTP/2 connection's free list and
// given back after the response: it keeps its backend connections open, so the
// streams of one client reuse keep-alive connections to the instances as an
// HTTP/1.1 client's requests do, as many at most as streams ran at once.

// h2Server is one Serve call's set of HTTP/2 connections, for graceful
// shutdown: GOAWAY on each.
type h2Server struct {
	mu    sync.Mutex
	down  bool
	conns map[*h2sConn]struct{}
}

func (p *Proxy) newH2Server() *h2Server {
	return &h2Server{conns: map[*h2sConn]struct{}{}}
}

// shutdown sends GOAWAY on every HTTP/2 connection: each ends once its
// streams have.
func (s *h2Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for c := range s.conns {
		c.goAway(0)
	}
}

// add registers c, or reports false once the server is shutting down.
func (s *h2Server) add(c *h2sConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *h2Server) remove(c *h2sConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// h2Conn is the pool of stream connections of one HTTP/2 client connection.
type h2Conn struct {
	p   *Proxy
	ctx context.Context
	tc  *tls.Conn

	streams sync.WaitGroup // streams forwarding; added to under mu

	mu     sync.Mutex
	closed bool          // the connection ended
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
	c := newH2sConn(hc, tc)
	if run.h2.add(c) {
		c.serve()
		run.h2.remove(c)
	}
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
