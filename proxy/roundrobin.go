package proxy

import "sync/atomic"

// roundRobin walks the weighted ring with one atomic counter: O(1), no lock.
type roundRobin struct {
	next atomic.Uint64
}

func (r *roundRobin) choose(_, ring []*backend, _ *reqInfo) *backend {
	n := r.next.Add(1) - 1
	return ring[n%uint64(len(ring))]
}
