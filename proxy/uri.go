package proxy

import "hash/maphash"

// uriHash sends a path to the same backend while the set of backends is unchanged,
// as HAProxy's "balance uri" (the query string is not part of the key).
type uriHash struct{}

func (uriHash) choose(ready, _ []*backend, ri *reqInfo) *backend {
	return rendezvous(ready, maphash.String(hashSeed, ri.path))
}
