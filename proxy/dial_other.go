//go:build !linux

package proxy

import "context"

// dialBackend connects to an instance through net.Dialer (see dial_linux.go for
// the Linux path).
func (p *Proxy) dialBackend(ctx context.Context, ep *endpoint) (sock, error) {
	return p.dialNet(ctx, ep)
}

func newEndpoint(addr string) *endpoint { return &endpoint{addr: addr} }

// redial reuses no socket where dialBackend does not open its own.
func (p *Proxy) redial(bc *backendConn, ep *endpoint) (reused, wait bool, err error) {
	return false, false, nil
}
