//go:build !linux

package proxy

import "context"

// rawSockaddr is only built on Linux (see dial_linux.go).
type rawSockaddr struct{}

// sockCtl is only used on Linux (see dial_linux.go).
type sockCtl struct{}

// dialBackend connects to an instance through net.Dialer (see dial_linux.go for
// the Linux path).
func (p *Proxy) dialBackend(ctx context.Context, ep *endpoint) (sock, error) {
	return p.dialNet(ctx, ep)
}

func newEndpoint(addr string) *endpoint { return &endpoint{addr: addr} }
