package proxy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"
)

// How the faults of fault.go act on one forwarding attempt, in this order:
// delay (then the request goes on), fail (the proxy answers, or the request is
// retried as an instance's 503 would be), timeout (held, never sent, until
// ResponseTimeout), reset (sent; the response is cut and the client's
// connection reset).

// readFaultHeaders takes the faults of this request from X-Devcluster-Fault
// (Config.FaultHeaders).
func (c *clientConn) readFaultHeaders(fr *fwdReq) {
	for i := range fr.h.fields {
		f := &fr.h.fields[i]
		if f.kind != hFault {
			continue
		}
		fs, err := parseFaultHeader(string(f.value))
		if err != nil {
			fr.faultErr = err
			return
		}
		for k, x := range fs {
			if x != nil {
				fr.hdrFaults[k] = x
				fr.hasFaults = true
			}
		}
	}
}

// applyFaults applies b's faults (fs, may be nil) and the request's own to
// this attempt. done: the attempt ended, as out says.
func (c *clientConn) applyFaults(b *backend, fr *fwdReq, fs *faultSet) (out outcome, done bool) {
	var all faultSet
	if fs != nil {
		all = *fs
	}
	for k, f := range fr.hdrFaults {
		if f != nil {
			all[k] = f // the request's own win
		}
	}
	dice := c.p.dice
	if f := all[kindIndex(FaultDelay)]; f != nil && f.hits(dice) {
		d := f.delayFor(dice)
		fr.addDecision("fault: delay " + d.Round(time.Millisecond).String())
		switch c.hold(d, b, heldBy(fr, FaultDelay, f)) {
		case holdShutdown:
			return outcome{keep: false}, true
		case holdClientGone:
			fr.addDecision("client gone during the delay")
			return outcome{keep: false}, true
		}
	}
	if f := all[kindIndex(FaultFail)]; f != nil && f.hits(dice) {
		return c.failFault(b, fr, f.Status), true
	}
	if f := all[kindIndex(FaultTimeout)]; f != nil && f.hits(dice) {
		if out, done := c.timeoutFault(b, fr, heldBy(fr, FaultTimeout, f)); done {
			return out, true
		}
	}
	if f := all[kindIndex(FaultReset)]; f != nil && f.hits(dice) {
		fr.addDecision("fault: reset")
		fr.resetFault = true
	}
	return outcome{}, false
}

// Why a hold (a delay, a timeout fault) ended.
const (
	holdElapsed    = iota // it ran its time: the fault goes on
	holdReleased          // the instance's fault was cleared or changed: the request goes on at once
	holdClientGone        // the client closed its connection: the request is dropped
	holdShutdown          // the proxy is stopping
)

// heldBy is the instance fault that holds fr (released when it is cleared),
// or nil when the fault is the request's own (X-Devcluster-Fault).
func heldBy(fr *fwdReq, kind string, f *Fault) *Fault {
	if fr.hdrFaults[kindIndex(kind)] == f {
		return nil
	}
	return f
}

// hold waits d with the request unsent. It ends early, as HAProxy and nginx do
// for requests still queued, when the client closes its connection: a client
// that gave up after a second must not hold a socket, a goroutine and the
// instance's active count for the rest of a 50 s delay, nor keep a reload's
// drain waiting. It also ends when fault (nil for a request's own) is no longer
// b's: `fault clear` releases the requests it was holding.
func (c *clientConn) hold(d time.Duration, b *backend, fault *Fault) int {
	var changed <-chan struct{}
	if fault != nil {
		changed = c.p.faultChanges()
		if fs := c.p.faultsOf(b); fs == nil || !holds(fs, fault) {
			return holdReleased
		}
	}
	gone, stopWatch := c.watchClient()
	defer stopWatch()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return holdElapsed
		case <-gone:
			return holdClientGone
		case <-c.ctx.Done():
			return holdShutdown
		case <-changed:
			changed = c.p.faultChanges()
			if fs := c.p.faultsOf(b); fs == nil || !holds(fs, fault) {
				return holdReleased
			}
		}
	}
}

// holds reports whether fault is still one of fs's.
func holds(fs *faultSet, fault *Fault) bool {
	for _, f := range fs {
		if f == fault {
			return true
		}
	}
	return false
}

// watchClient returns a channel closed when the client closes its connection
// while nothing is being read from it, and stop, which ends the watch and
// gives the connection its read deadline back. The watch peeks at the socket
// (peerClosed): it takes nothing from it, so a request body or a pipelined
// request still there is read as usual afterwards; behind such bytes a close
// cannot be seen, and the hold runs its time.
func (c *clientConn) watchClient() (gone <-chan struct{}, stop func()) {
	rc := rawConnOf(c.conn)
	if rc == nil {
		return nil, func() {}
	}
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if peerClosed(rc) {
			close(ch)
		}
	}()
	return ch, func() {
		c.conn.SetReadDeadline(aLongTimeAgo) // wakes the peek
		<-done
		c.conn.SetReadDeadline(c.rdl.at)
	}
}

// failFault answers status in b's name. A 503 that retry_on 503 would send
// elsewhere is retried like an instance's own 503.
func (c *clientConn) failFault(b *backend, fr *fwdReq, status int) outcome {
	fr.addDecision("fault: fail " + strconv.Itoa(status))
	msg := "answered " + strconv.Itoa(status) + " " + http.StatusText(status) + " (fault: fail)"
	if status == http.StatusServiceUnavailable && c.mayRetry(fail503, false, fr) {
		b.pool.setLastError(b, msg)
		return outcome{retry: true, keep: true, err: &proxyError{status: status, b: b, msg: msg}, why: "503"}
	}
	keep := fr.bodyKeep()
	c.writeError(fr, status, b.id, b.id+": fault: fail "+strconv.Itoa(status)+" (set with devcluster fault; the instance did not see this request)", keep)
	return outcome{keep: keep}
}

// timeoutFault holds the request as an instance that accepts and never answers
// would: owed a response head (stall detection sees it) until ResponseTimeout,
// then a 504, retried only as retry_on response-timeout allows. done false:
// the fault was cleared meanwhile, and the request goes on to the instance.
func (c *clientConn) timeoutFault(b *backend, fr *fwdReq, fault *Fault) (out outcome, done bool) {
	fr.addDecision("fault: timeout")
	now := time.Now()
	b.stall.sent(now)
	end := c.hold(c.p.cfg.ResponseTimeout, b, fault)
	b.stall.answered(time.Now(), false)
	switch end {
	case holdReleased:
		return outcome{}, false
	case holdShutdown:
		return outcome{keep: false}, true
	case holdClientGone:
		fr.addDecision("client gone during the timeout")
		return outcome{keep: false}, true
	}
	detail := "no response header within " + c.p.cfg.ResponseTimeout.String() + " (fault: timeout)"
	b.pool.setLastError(b, detail)
	fr.errClass = ErrorTimeout
	return outcome{retry: c.mayRetry(failTimeout, false, fr), keep: true, err: &proxyError{status: http.StatusGatewayTimeout, b: b, msg: detail}, why: "timeout"}, true
}

// probeFault reports whether a timeout fault on b makes the proxy's HTTP
// check of it go unanswered, as it would for an instance that never answers.
func (p *Proxy) probeFault(b *backend) bool {
	fs := p.faultsOf(b)
	if fs == nil {
		return false
	}
	f := fs[kindIndex(FaultTimeout)]
	return f != nil && f.hits(p.dice)
}

// resetResponse sends the first half of resp (its head and what is buffered
// of its body) and resets the client connection (SO_LINGER 0): the client
// sees ECONNRESET in the middle of a real response.
func (c *clientConn) resetResponse(b *backend, bc *backendConn, fr *fwdReq, resp *respHead) {
	var head bytes.Buffer
	saved := c.bw
	c.bw = bufio.NewWriter(&head)
	c.writeResponseHead(b, fr, resp, fr.framing(resp))
	c.bw.Flush()
	c.bw = saved
	n := bc.br.Buffered()
	if resp.noBody {
		n = 0
	} else if resp.contentLength >= 0 && int64(n) > resp.contentLength {
		n = int(resp.contentLength)
	}
	body, _ := bc.br.Peek(n)
	msg := append(head.Bytes(), body...)
	cut := head.Len() / 2
	if n > 0 {
		cut = head.Len() + n/2
	}
	c.armWrite()
	c.bw.Write(msg[:cut])
	c.bw.Flush()
	fr.bytesOut = int64(max(cut-head.Len(), 0))
	fr.errClass = ErrorReset
	c.conns.retire(bc, false)
	if tc, ok := c.conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.conn.Close()
}
