package proxy

import (
	"math/rand/v2"
	"sync"
)

// dice is the proxy's one source of random choices: the random strategy's two
// draws, a fault's percentage and its jitter. Seeded from Config.Seed, it makes
// a run reproducible: the same seed and the same sequence of requests give the
// same choices (devcluster up --seed N; the seed is printed and shown), which is
// what someone chasing a "sometimes" balancing bug needs to see it twice. One
// PCG behind a mutex: a draw is a few nanoseconds, and only the random strategy
// and faults with a percentage or a jitter draw at all.
type dice struct {
	mu   sync.Mutex
	r    *rand.Rand
	seed uint64
}

// newDice returns dice seeded with seed; 0 picks a seed at random.
func newDice(seed uint64) *dice {
	for seed == 0 {
		seed = rand.Uint64()
	}
	return &dice{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed}
}

func (d *dice) intN(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.IntN(n)
}

func (d *dice) int64N(n int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Int64N(n)
}

func (d *dice) float64() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Float64()
}

// Seed returns the seed of the proxy's random choices: Config.Seed, or the
// one New picked when it was 0. Passing it as Config.Seed repeats them.
func (p *Proxy) Seed() uint64 { return p.dice.seed }
