package proxy

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// Hung instances. A development server that is stopped (SIGSTOP, a debugger
// breakpoint) or stuck still completes TCP handshakes in the kernel, so a TCP
// check never fails, and an HTTP check every second would put a line per second
// per instance into the user's output. devcluster detects a hang passively, as
// Envoy's outlier detection ejects a host: an instance with requests
// outstanding and no response head for StallTimeout (0.5 s), while it answers
// nothing else, is suspected. The suspicion is then confirmed with one HTTP
// request (GET CheckPath, any answer counts) given as long again (StallTimeout,
// at least StallCheckTimeoutMin, at most the check timeout): an instance busy
// with one slow request but still answering stays in rotation, however long
// that request takes; one that does not answer leaves it at once, so new
// requests go to the others within about 1.1 s of the hang (3 s before issue
// 25: a 2 s threshold and a 1 s check). The threshold can be short because the
// check, not the wait, is the verdict: a slow answer only costs one more check.
// Requests already sent to it are not replayed (see retry.go); they get 504 at
// ResponseTimeout, or their answer if it resumes. While out, it is checked with
// the same HTTP request (its health path, if it has one) within the check
// timeout instead of a TCP connect, and comes back when it answers. So
// CheckPath reaches an app only while it is suspected or out; IsCheckLogLine
// lets the supervisor hide those lines from the output.

// CheckPath is the path of the proxy's own HTTP checks of a suspected instance.
const CheckPath = "/.well-known/devcluster-check"

// IsCheckLogLine reports whether an instance's output line is its log of one of
// the proxy's checks, which devcluster hides.
func IsCheckLogLine(line []byte) bool { return bytes.Contains(line, checkPathBytes) }

var checkPathBytes = []byte(CheckPath)

// DefaultStallTimeout: see the comment above.
const DefaultStallTimeout = defaults.StallTimeout

// stallWatch is a backend's record of the response heads it owes. All of it is
// atomic: the forwarding path updates it for every request.
type stallWatch struct {
	pending      atomic.Int64 // requests sent whose response head has not come
	pendingSince atomic.Int64 // UnixNano when pending last rose from 0
	lastAnswer   atomic.Int64 // UnixNano of the last response head
}

// sent records a request written to the instance at now.
func (w *stallWatch) sent(now time.Time) {
	if w.pending.Add(1) == 1 {
		w.pendingSince.Store(now.UnixNano())
	}
}

// answered records the end of the wait for a response head; ok: it came.
func (w *stallWatch) answered(now time.Time, ok bool) {
	if ok {
		w.lastAnswer.Store(now.UnixNano())
	}
	w.pending.Add(-1)
}

// stalledFor returns how long the instance has owed a response head without
// answering anything, or 0.
func (w *stallWatch) stalledFor(now time.Time) time.Duration {
	if w.pending.Load() <= 0 {
		return 0
	}
	since := max(w.pendingSince.Load(), w.lastAnswer.Load())
	return now.Sub(time.Unix(0, since))
}

// stallTick is how often the checker looks for a stall: a fraction of
// StallTimeout, so a hang is seen soon after it.
func stallTick(stallTimeout time.Duration) time.Duration {
	return max(stallTimeout/8, 10*time.Millisecond)
}

// checkStall confirms a suspected stall of b with one HTTP request and takes b
// out of rotation if it does not answer.
func (p *Proxy) checkStall(ctx context.Context, b *backend) {
	stalled := b.stall.stalledFor(p.now())
	if b.state() != stateUp || stalled < p.cfg.StallTimeout {
		return
	}
	start := p.now()
	ok, detail, local := p.probeAnswerWithin(ctx, b, p.stallCheckTimeout(b))
	if ctx.Err() != nil {
		return
	}
	if local != nil {
		p.noteLocalCheckError(detail, local)
		return // no verdict: the check never left devcluster
	}
	chk := check{at: start, ok: ok, result: detail, took: p.now().Sub(start)}
	if ok {
		b.pool.checked(b, chk) // busy with a slow request, not hung
		return
	}
	if b.stall.lastAnswer.Load() >= start.UnixNano() {
		return // it answered a request meanwhile: slow (a loaded machine), not hung
	}
	n := b.stall.pending.Load()
	msg := "no response to " + strconv.FormatInt(n, 10) + " request"
	if n != 1 {
		msg += "s"
	}
	msg += " for " + stalled.Round(100*time.Millisecond).String() + " and " + detail + " (hung or stopped?)"
	b.pool.stalled(b, msg, chk)
}

// stallCheckTimeout is how long the check confirming a stall of b waits for
// its answer: StallTimeout, at least StallCheckTimeoutMin, at most b's check
// timeout (so a stall_timeout of 2 s keeps the 1 s check it had).
func (p *Proxy) stallCheckTimeout(b *backend) time.Duration {
	return min(max(p.cfg.StallTimeout, defaults.StallCheckTimeoutMin), b.pool.health.Timeout)
}

// probeAnswer sends the HTTP check of a suspected or stalled instance: its
// health path if it has one, else CheckPath, where any answer counts.
func (p *Proxy) probeAnswer(ctx context.Context, b *backend) (ok bool, detail string, local error) {
	return p.probeAnswerWithin(ctx, b, b.pool.health.Timeout)
}

// probeAnswerWithin is probeAnswer waiting at most timeout for the answer.
func (p *Proxy) probeAnswerWithin(ctx context.Context, b *backend, timeout time.Duration) (ok bool, detail string, local error) {
	h := b.pool.health
	h.Timeout = timeout
	if p.probeFault(b) {
		return false, "no answer to the HTTP check (fault: timeout)", nil
	}
	if h.Path != "" {
		return p.probe(ctx, b.addr(), h, false)
	}
	h.Path = CheckPath
	return p.probe(ctx, b.addr(), h, true)
}
