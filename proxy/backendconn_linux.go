package proxy

import (
	"context"
	"os"
	"time"
)

// newBackendConns returns rawConns, or netConns where a test asks for the
// portable implementation (portableConns).
func (p *Proxy) newBackendConns() backendConns {
	if p.portableConns {
		return &netConns{idleConns{p: p}}
	}
	return &rawConns{idleConns: idleConns{p: p}}
}

// rawConns is the Linux backendConns: sockets to literal IP addresses are opened
// by dialBackend with our own system calls, and a connection that its instance
// closes after each response (Flask's development server) is kept as a spare
// whose socket redial connects again, instead of a new socket per request.
type rawConns struct {
	idleConns
	spares []*backendConn // retired, oldest first, waiting for the instance's close
}

// Spares: Flask's development server closes ~10 ms after its response, by when
// the client's next request has often come already: the next dials try the older
// spares first.
const (
	maxSpares   = 4
	spareMaxAge = time.Second // still open after this: closed, not waited for
)

func (r *rawConns) acquire(ctx context.Context, b *backend) (*backendConn, bool, error) {
	ep := b.ep.Load()
	if bc := r.take(b, ep, r.alive); bc != nil {
		return bc, true, nil
	}
	if bc, ok, err := r.redialSpare(b, ep); ok {
		return bc, false, err
	}
	s, err := r.p.dialBackend(ctx, ep)
	if err != nil {
		return nil, false, err
	}
	return r.p.use(b, ep, newBackendConn(s)), false, nil
}

// redialSpare connects the socket of the oldest spare the instance has closed to
// ep. ok: a socket was reused, and err tells whether the connect succeeded.
func (r *rawConns) redialSpare(b *backend, ep *endpoint) (*backendConn, bool, error) {
	for i := 0; i < len(r.spares); i++ {
		bc := r.spares[i]
		reused, wait, err := r.p.redial(bc, ep)
		if !reused {
			// wait: the instance has not closed its side yet; try again at the
			// next dial, unless it has been holding on for long.
			if !wait || time.Since(bc.lastUsed) > spareMaxAge {
				r.spares = append(r.spares[:i], r.spares[i+1:]...)
				i--
				r.p.closeBackendConn(bc)
			}
			continue
		}
		r.spares = append(r.spares[:i], r.spares[i+1:]...)
		if err != nil {
			r.p.closeBackendConn(bc)
			return nil, true, err
		}
		b.redials.Add(1)
		return r.p.use(b, ep, bc), true, nil
	}
	return nil, false, nil
}

func (r *rawConns) release(bc *backendConn) { r.put(bc) }

func (r *rawConns) alive(bc *backendConn) bool { return idleAlive(bc, r.p.staleAfter) }

// retire keeps bc as a spare when its socket is one of ours (redial can reuse
// it), else closes it.
func (r *rawConns) retire(bc *backendConn, reusable bool) {
	if _, ours := bc.conn.(*os.File); !reusable || !ours || !unconnect(bc) {
		r.p.closeBackendConn(bc)
		return
	}
	bc.rdl.clear()
	// The spare keeps its buffers for the connect that reuses it, within a
	// second or closed (closeBackendConn returns them to the pools).
	bc.br.Reset(bc.sio)
	bc.bw.Reset(bc.sio)
	bc.lastUsed = time.Now()
	if len(r.spares) == maxSpares {
		r.p.closeBackendConn(r.spares[0])
		r.spares = append(r.spares[:0], r.spares[1:]...)
	}
	r.spares = append(r.spares, bc)
}

func (r *rawConns) closeAll() {
	r.idleConns.closeAll()
	for _, bc := range r.spares {
		r.p.closeBackendConn(bc)
	}
	r.spares = nil
}
