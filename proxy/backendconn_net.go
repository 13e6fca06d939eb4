package proxy

import (
	"context"
	"net"
)

// netConns is the portable backendConns: connections opened by net.Dialer, read
// and written through net.Conn, kept idle for the next request to the same
// instance. It is what every OS but Linux uses, and what Config's tests of the
// seam run on Linux too (see Proxy.portableConns).
type netConns struct {
	idleConns
}

func (n *netConns) acquire(ctx context.Context, b *backend) (*backendConn, bool, error) {
	ep := b.ep.Load()
	if bc := n.take(b, ep, n.alive); bc != nil {
		return bc, true, nil
	}
	s, err := n.p.dialNet(ctx, ep)
	if err != nil {
		return nil, false, err
	}
	return n.p.use(b, ep, newBackendConn(s)), false, nil
}

func (n *netConns) release(bc *backendConn) { n.put(bc) }

func (n *netConns) alive(bc *backendConn) bool { return idleAlive(bc, n.p.staleAfter) }

// retire closes bc: net.Conn gives no way to reuse a socket.
func (n *netConns) retire(bc *backendConn, reusable bool) { n.p.closeBackendConn(bc) }

// dialNet connects to ep through net.Dialer (host names; platforms other than
// Linux).
func (p *Proxy) dialNet(ctx context.Context, ep *endpoint) (sock, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, err
	}
	return nc.(*net.TCPConn), nil
}
