package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// startChecks starts a health-check goroutine for every backend known when Serve
// begins; later ones are started by Enable.
func (p *Proxy) startChecks() {
	for _, pl := range *p.pools.Load() {
		pl.mu.Lock()
		for _, b := range pl.backends {
			p.startCheckLocked(b)
		}
		pl.mu.Unlock()
	}
}

// startCheckLocked starts b's checker if Serve runs and none is running.
// b.pool.mu is held.
func (p *Proxy) startCheckLocked(b *backend) {
	if b.stopCheck != nil {
		return
	}
	p.runMu.Lock()
	defer p.runMu.Unlock()
	if p.run == nil || p.run.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(p.run.ctx)
	b.stopCheck = cancel
	p.run.wg.Add(1)
	go func() {
		defer p.run.wg.Done()
		p.checkLoop(ctx, b)
	}()
}

// stopChecks forgets the (already ended) checkers and ends the run.
func (p *Proxy) stopChecks() {
	for _, pl := range *p.pools.Load() {
		pl.mu.Lock()
		for _, b := range pl.backends {
			if b.stopCheck != nil {
				b.stopCheck()
				b.stopCheck = nil
			}
		}
		pl.mu.Unlock()
	}
	p.runMu.Lock()
	p.run = nil
	p.runMu.Unlock()
}

func (p *Proxy) checkLoop(ctx context.Context, b *backend) {
	h := b.pool.health
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	var stall <-chan time.Time
	if p.cfg.StallTimeout > 0 {
		st := time.NewTicker(stallTick(p.cfg.StallTimeout))
		defer st.Stop()
		stall = st.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-stall:
			p.checkStall(ctx, b)
			continue
		case <-t.C:
		}
		if st := b.state(); st != stateUp && st != stateDown {
			continue // draining or drained: the supervisor owns it now; maint: the user
		}
		start := p.now()
		var ok bool
		var detail string
		var local error
		if b.pool.isStalled(b) {
			ok, detail, local = p.probeAnswer(ctx, b)
		} else {
			ok, detail, local = p.probe(ctx, b.addr(), h, false)
		}
		if ctx.Err() != nil {
			return
		}
		if local != nil {
			p.noteLocalCheckError(detail, local)
			continue // no verdict: the check never left devcluster
		}
		p.checksSkipped.Store(false)
		b.pool.checked(b, check{at: start, ok: ok, result: detail, took: p.now().Sub(start)})
	}
}

// probe runs one check: GET h.Path answering 2xx/3xx (any status if
// anyAnswer), or a TCP connect. local is not nil when the check could not be
// sent for want of devcluster's own resources (localResourceError): then ok
// says nothing of the instance.
func (p *Proxy) probe(ctx context.Context, addr string, h HealthConfig, anyAnswer bool) (ok bool, detail string, local error) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	if h.Path == "" {
		c, err := p.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, describeDialError(addr, err, h.Timeout), asLocal(err)
		}
		c.Close()
		return true, "connect " + addr, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+h.Path, nil)
	if err != nil {
		return false, fmt.Sprintf("GET %s: %v", h.Path, err), nil
	}
	req.Header.Set("User-Agent", "devcluster-check")
	resp, err := p.check.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Sprintf("GET %s: no answer within %s", h.Path, h.Timeout), nil
		}
		return false, fmt.Sprintf("GET %s: %v", h.Path, err), asLocal(err)
	}
	resp.Body.Close()
	detail = fmt.Sprintf("GET %s → %d", h.Path, resp.StatusCode)
	return anyAnswer || resp.StatusCode >= 200 && resp.StatusCode < 400, detail, nil
}

// describeDialError turns a dial error into "connect 127.0.0.1:5001: connection refused".
func describeDialError(addr string, err error, timeout time.Duration) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("connect %s: no answer within %s", addr, timeout)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var se interface{ Unwrap() error }
	if errors.As(err, &se) {
		// *os.SyscallError: "connect: connection refused" → keep the errno text.
		if inner := se.Unwrap(); inner != nil {
			err = inner
		}
	}
	return fmt.Sprintf("connect %s: %v", addr, err)
}
