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

// ListenAndServe listens on Config.Listen and serves until ctx is done.
func (p *Proxy) ListenAndServe(ctx context.Context) error {
	lc := net.ListenConfig{KeepAlive: -1} // idle clients are closed by IdleTimeout
	ln, err := lc.Listen(ctx, "tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", p.cfg.Listen, err)
	}
	return p.Serve(ctx, ln)
}

// Serve accepts connections on ln and runs the health checks until ctx is done.
// Then it closes ln, lets in-flight requests finish (up to ShutdownTimeout),
// closes every connection and returns once every goroutine it started has ended.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	p.runMu.Lock()
	if p.run != nil {
		p.runMu.Unlock()
		ln.Close()
		return errors.New("proxy: Serve is already running")
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	run := &runState{ctx: runCtx}
	p.run = run
	p.runMu.Unlock()
	p.startChecks()

	var conns sync.WaitGroup
	acceptErr := p.acceptLoop(ctx, ln, &conns)
	ln.Close()
	p.shutdown(&conns)
	cancelRun()
	run.wg.Wait()
	p.stopChecks()
	return acceptErr
}

// acceptLoop accepts connections on ln until ctx is done, each served by a
// goroutine counted in conns. Errors such as EMFILE (out of descriptors) back
// off, 5 ms doubling to 1 s as net/http's Server does, and are logged once per
// episode: the proxy keeps serving the connections it has and accepts again once
// descriptors are free. At MaxConn open connections it stops accepting, so new
// ones wait in the kernel's backlog, as HAProxy's maxconn does.
func (p *Proxy) acceptLoop(ctx context.Context, ln net.Listener, conns *sync.WaitGroup) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, p.cfg.MaxConn)
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
		cc := p.newClientConn(ctx, nc)
		conns.Add(1)
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
func (p *Proxy) shutdown(conns *sync.WaitGroup) {
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
