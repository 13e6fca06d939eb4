package proxy

import "sync/atomic"

// leastConn picks the backend with the fewest in-flight requests relative to its
// weight. Ties rotate, so an idle pool is still used evenly.
type leastConn struct {
	next atomic.Uint64
}

func (l *leastConn) choose(ready, _ []*backend, _ *reqInfo) *backend {
	start := int(l.next.Add(1) % uint64(len(ready)))
	var best *backend
	var bestActive, bestWeight int64
	for i := range ready {
		b := ready[(start+i)%len(ready)]
		a, w := b.active.Load(), int64(b.weight.Load())
		if best == nil || a*bestWeight < bestActive*w {
			best, bestActive, bestWeight = b, a, w
		}
	}
	return best
}
