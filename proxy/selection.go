package proxy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
)

// reqInfo is what a selection strategy may look at.
type reqInfo struct {
	path     string
	clientIP string
}

// selector picks one backend out of a non-empty view. ring is ready expanded by
// weight; strategies that do not use weights read ready. It must be safe for
// concurrent use and must not block.
type selector interface {
	choose(ready, ring []*backend, ri *reqInfo) *backend
}

// Strategies lists the balancing strategies New accepts, the default first. It
// is defaults.Strategies (procfile validates against the same list); newSelector
// must know each of them, which TestNewSelectorKnowsEveryStrategy checks.
var Strategies = defaults.Strategies()

func newSelector(strategy string, maxConn int, d *dice) (selector, error) {
	switch strategy {
	case "", "roundrobin":
		return &roundRobin{}, nil
	case "leastconn":
		return &leastConn{}, nil
	case "random":
		return randomTwo{dice: d}, nil
	case "source":
		return sourceHash{}, nil
	case "uri":
		return uriHash{}, nil
	case "first":
		return first{maxConn: int64(maxConn)}, nil
	}
	s := append([]string(nil), Strategies...)
	sort.Strings(s)
	return nil, fmt.Errorf("unknown balancing strategy %q (want one of %s)", strategy, strings.Join(s, ", "))
}

// without returns bs minus the backends in skip, or bs itself when that would
// leave nothing (a retry then goes back to an instance already tried).
func without(bs []*backend, skip []*backend) []*backend {
	if len(skip) == 0 {
		return bs
	}
	out := make([]*backend, 0, len(bs))
	for _, b := range bs {
		tried := false
		for _, s := range skip {
			if s == b {
				tried = true
				break
			}
		}
		if !tried {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return bs
	}
	return out
}

// mix64 is the splitmix64 finaliser, used to combine a key hash with a backend's.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rendezvous picks by highest-random-weight hashing: a key keeps its backend while
// that backend is up, and only the keys of a backend that leaves move.
func rendezvous(ready []*backend, key uint64) *backend {
	var best *backend
	var bestScore uint64
	for _, b := range ready {
		s := mix64(key ^ b.idHash)
		if best == nil || s > bestScore {
			best, bestScore = b, s
		}
	}
	return best
}
