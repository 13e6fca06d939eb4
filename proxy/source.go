package proxy

import "hash/maphash"

// sourceHash sends a client IP to the same backend while the set of backends is
// unchanged (rendezvous hashing: only the clients of a backend that leaves move).
type sourceHash struct{}

func (sourceHash) choose(ready, _ []*backend, ri *reqInfo) *backend {
	return rendezvous(ready, maphash.String(hashSeed, ri.clientIP))
}
