package proxy

import "math/rand/v2"

// randomTwo is "power of two choices": two backends drawn at random (by weight),
// the less busy one wins.
type randomTwo struct{}

func (randomTwo) choose(_, ring []*backend, _ *reqInfo) *backend {
	if len(ring) == 1 {
		return ring[0]
	}
	a := ring[rand.IntN(len(ring))]
	b := ring[rand.IntN(len(ring))]
	if b.active.Load() < a.active.Load() {
		return b
	}
	return a
}
