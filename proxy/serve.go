package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// ListenAndServe listens on Config.Listen (and Config.HTTPSListen when HTTPS
// goes there) and serves until ctx is done.
func (p *Proxy) ListenAndServe(ctx context.Context) error {
	lc := net.ListenConfig{KeepAlive: -1} // idle clients are closed by IdleTimeout
	ln, err := lc.Listen(ctx, "tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", p.cfg.Listen, err)
	}
	if p.cfg.TLSConfig == nil || p.cfg.HTTPSListen == "" {
		return p.Serve(ctx, ln)
	}
	tln, err := lc.Listen(ctx, "tcp", p.cfg.HTTPSListen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("proxy: listen on %s: %w", p.cfg.HTTPSListen, err)
	}
	return p.ServeBoth(ctx, ln, tln)
}

// Serve accepts connections on ln and runs the health checks until ctx is done.
// Then it closes ln, lets in-flight requests finish (up to ShutdownTimeout),
// closes every connection and returns once every goroutine it started has ended.
// ln serves HTTPS when Config.TLSConfig is set and HTTPSListen is not, else
// plain HTTP.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if p.tls != nil && p.cfg.HTTPSListen == "" {
		return p.serve(ctx, listener{ln: ln, secure: true})
	}
	return p.serve(ctx, listener{ln: ln})
}

// ServeBoth is Serve with plain HTTP on plain (or, with RedirectHTTP, a
// redirect to HTTPS) and HTTPS on secure; it needs Config.TLSConfig.
func (p *Proxy) ServeBoth(ctx context.Context, plain, secure net.Listener) error {
	if p.tls == nil {
		plain.Close()
		secure.Close()
		return errors.New("proxy: ServeBoth without Config.TLSConfig")
	}
	return p.serve(ctx, listener{ln: plain, redirect: p.cfg.RedirectHTTP, httpsPort: portOf(secure.Addr())}, listener{ln: secure, secure: true})
}

// listener is one of the proxy's listeners and what it serves.
type listener struct {
	ln        net.Listener
	secure    bool   // TLS (tls.go)
	redirect  bool   // plain HTTP answering 308 to https on httpsPort
	httpsPort string // of the HTTPS listener, for redirect
}

func (p *Proxy) serve(ctx context.Context, lns ...listener) error {
	p.runMu.Lock()
	if p.run != nil {
		p.runMu.Unlock()
		for _, l := range lns {
			l.ln.Close()
		}
		return errors.New("proxy: Serve is already running")
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	run := &runState{ctx: runCtx}
	if p.tls != nil {
		run.h2 = p.newH2Server()
	}
	p.run = run
	p.runMu.Unlock()
	p.startChecks()

	var conns sync.WaitGroup
	slots := make(chan struct{}, p.cfg.MaxConn)
	errs := make(chan error, len(lns))
	acceptCtx, stopAccept := context.WithCancel(ctx)
	for _, l := range lns {
		go func() { errs <- p.acceptLoop(acceptCtx, ctx, l, slots, &conns) }()
	}
	var acceptErr error
	for range lns {
		if err := <-errs; err != nil && acceptErr == nil {
			acceptErr = err
			stopAccept() // one listener failed: the proxy stops, as with one
		}
	}
	stopAccept()
	p.shutdown(&conns, run)
	cancelRun()
	run.wg.Wait()
	p.stopChecks()
	return acceptErr
}

// acceptLoop accepts connections on l until ctx is done, each served by a
// goroutine counted in conns. Errors such as EMFILE (out of descriptors) back
// off, 5 ms doubling to 1 s as net/http's Server does, and are logged once per
// episode: the proxy keeps serving the connections it has and accepts again once
// descriptors are free. At MaxConn open connections (slots, shared by the
// listeners) it stops accepting, so new ones wait in the kernel's backlog, as
// HAProxy's maxconn does. It closes l.ln when it returns. Connections are
// served under connCtx, which outlives ctx when another listener failed.
func (p *Proxy) acceptLoop(ctx, connCtx context.Context, l listener, slots chan struct{}, conns *sync.WaitGroup) error {
	ln := l.ln
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	backoff := time.Duration(0)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		nc, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			if !acceptRetryable(err) {
				return fmt.Errorf("proxy: accept on %s: %w", ln.Addr(), err)
			}
			if backoff == 0 {
				p.logf("%v; accepting again shortly, serving the open connections meanwhile", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			continue
		}
		backoff = 0
		conns.Add(1)
		if l.secure {
			go func() {
				defer conns.Done()
				defer func() { <-slots }()
				p.serveTLS(connCtx, nc)
			}()
			continue
		}
		cc := p.newClientConn(connCtx, nc)
		if l.redirect {
			cc.redirectPort = l.httpsPort
		}
		go func() {
			defer conns.Done()
			defer func() { <-slots }()
			cc.serve()
		}()
	}
}

// acceptRetryable: an accept error that passes (timeouts; out of descriptors,
// buffers or memory; a connection aborted in the queue), not a closed listener.
func acceptRetryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// shutdown closes idle connections until none is left or ShutdownTimeout has
// passed, then closes the rest and waits for every connection goroutine.
func (p *Proxy) shutdown(conns *sync.WaitGroup, run *runState) {
	if run.h2 != nil {
		run.h2.shutdown() // GOAWAY on HTTP/2 connections (h2.go)
	}
	done := make(chan struct{})
	go func() { conns.Wait(); close(done) }()
	deadline := time.NewTimer(p.cfg.ShutdownTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		p.closeConns(false)
		select {
		case <-done:
			return
		case <-poll.C:
		case <-deadline.C:
			p.closeConns(true)
			<-done
			return
		}
	}
}

func (p *Proxy) closeConns(all bool) {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	for cc := range p.conns {
		if all || cc.state.CompareAndSwap(connIdle, connClosed) || cc.state.Load() == connTunnel {
			cc.conn.Close()
		}
	}
	if all {
		p.closeH2Conns()
	}
}

func (p *Proxy) track(cc *clientConn, add bool) {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	if add {
		p.conns[cc] = struct{}{}
	} else {
		delete(p.conns, cc)
	}
}
