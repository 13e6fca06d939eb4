package proxy

// randomTwo is "power of two choices": two backends drawn at random (by weight),
// the less busy one wins.
type randomTwo struct{ dice *dice }

func (r randomTwo) choose(_, ring []*backend, _ *reqInfo) *backend {
	if len(ring) == 1 {
		return ring[0]
	}
	a := ring[r.dice.intN(len(ring))]
	b := ring[r.dice.intN(len(ring))]
	if b.active.Load() < a.active.Load() {
		return b
	}
	return a
}
