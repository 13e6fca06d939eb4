package proxy

// first fills the lowest-numbered backend up to maxConn in-flight requests before
// using the next, as HAProxy's "balance first". When all are full the least busy
// one is used (HAProxy would queue). Without maxConn everything goes to the first.
type first struct {
	maxConn int64
}

func (f first) choose(ready, _ []*backend, _ *reqInfo) *backend {
	if f.maxConn <= 0 {
		return ready[0]
	}
	best := ready[0]
	for _, b := range ready {
		a := b.active.Load()
		if a < f.maxConn {
			return b
		}
		if a < best.active.Load() {
			best = b
		}
	}
	return best
}
