package proxy

// counters are a backend's counts, as Stats reports them.
type counters struct {
	requests, failures, bytesIn, bytesOut, connects, redials, retries, connFail uint64
}

// counts returns b's counters, with those of the instance's earlier
// incarnations (carried): the instance's counts (ps's REQUESTS, the
// dashboard's) go on across its reloads and restarts instead of starting
// again at 0.
func (b *backend) counts() counters {
	c := b.ownCounts()
	if p := b.carried.Load(); p != nil {
		pc := p.ownCounts()
		c = counters{c.requests + pc.requests, c.failures + pc.failures, c.bytesIn + pc.bytesIn,
			c.bytesOut + pc.bytesOut, c.connects + pc.connects, c.redials + pc.redials,
			c.retries + pc.retries, c.connFail + pc.connFail}
	}
	return c
}

func (b *backend) ownCounts() counters {
	return counters{requests: b.requests.Load(), failures: b.failures.Load(),
		bytesIn: b.bytesIn.Load(), bytesOut: b.bytesOut.Load(), connects: b.connects.Load(),
		redials: b.redials.Load(), retries: b.retries.Load(), connFail: b.connFail.Load()}
}

// carryFrom makes old, the removed backend of the same instance, b's earlier
// incarnation. old is referred to rather than copied, since its last requests
// may still be counting (bytes out come after the client has its answer); the
// one before it is folded into old, its requests long over.
func (b *backend) carryFrom(old *backend) {
	if p := old.carried.Swap(nil); p != nil {
		pc := p.ownCounts()
		old.requests.Add(pc.requests)
		old.failures.Add(pc.failures)
		old.bytesIn.Add(pc.bytesIn)
		old.bytesOut.Add(pc.bytesOut)
		old.connects.Add(pc.connects)
		old.redials.Add(pc.redials)
		old.retries.Add(pc.retries)
		old.connFail.Add(pc.connFail)
	}
	b.carried.Store(old)
}
