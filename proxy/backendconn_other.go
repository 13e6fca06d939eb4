//go:build !linux

package proxy

// newBackendConns returns the portable backendConns: no raw sockets here.
func (p *Proxy) newBackendConns() backendConns {
	return &netConns{idleConns{p: p}}
}
