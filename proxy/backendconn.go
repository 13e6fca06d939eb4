package proxy

import (
	"bufio"
	"context"
	"io"
	"syscall"
	"time"
)

// Backend connections: the seam between HTTP forwarding (fastpath.go) and the
// sockets beneath it, kept apart as HAProxy keeps raw_sock.c apart from mux_h1.c.
// Forwarding asks backendConns for a connection to an instance, runs one exchange
// on it and hands it back; how it was opened, whether it is still open and what
// becomes of it afterwards are the implementation's business:
//
//   - netConns (backendconn_net.go, every OS): net.Dialer and net.Conn, an idle
//     keep-alive connection per instance;
//   - rawConns (backendconn_linux.go): the same idle cache, plus sockets opened
//     with our own system calls and the sockets of connections an instance closed
//     reused for the next connect (dial_linux.go).

// backendConns is one client connection's set of connections to its instances.
// It is used by that client connection's goroutine only.
type backendConns interface {
	// acquire returns a connection to b's current incarnation: the idle one kept
	// by release when it is alive (reused), else a new one.
	acquire(ctx context.Context, b *backend) (bc *backendConn, reused bool, err error)
	// release keeps bc, whose exchange ended cleanly, for b's next request.
	release(bc *backendConn)
	// alive reports whether the instance has not closed bc while it sat idle.
	alive(bc *backendConn) bool
	// retire takes bc out of use. reusable: the instance said it closes the
	// connection after a complete response, so its socket may serve a later
	// connect; otherwise (an error, a tunnel's end) bc is closed at once.
	retire(bc *backendConn, reusable bool)
	// closeAll closes every connection kept.
	closeAll()
}

// sock is what forwarding needs of a connection to an instance: a *net.TCPConn,
// or on Linux the *os.File of a socket that dialBackend opened itself.
type sock interface {
	io.ReadWriteCloser
	deadlineConn
}

// backendConn is a keep-alive connection to one incarnation of a backend.
type backendConn struct {
	b        *backend
	ep       *endpoint
	conn     sock
	rc       syscall.RawConn // conn's, got once (nil if it has none): alive and redial use it
	sio      *sockIO
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	rdl      lazyDeadline
	ctl      sockCtl // redial's and unconnect's state (dial_linux.go)
}

// rawConnOf returns s's RawConn, or nil. A RawConn is an allocation: it is taken
// once per connection and kept.
func rawConnOf(s any) syscall.RawConn {
	if sc, ok := s.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}

// newBackendConn wraps s, just connected to ep.
func newBackendConn(s sock) *backendConn {
	bc := &backendConn{conn: s, rc: rawConnOf(s)}
	bc.sio = newSockIO(s, bc.rc)
	bc.rdl.conn = s
	return bc
}

// use puts bc, just connected (or redialed) to ep, into use for b.
func (p *Proxy) use(b *backend, ep *endpoint, bc *backendConn) *backendConn {
	b.connects.Add(1)
	bc.b, bc.ep = b, ep
	if bc.br == nil { // a spare (redialed) has its own still
		bc.br, bc.bw = p.getReader(bc.sio), p.getWriter(bc.sio)
	}
	return bc
}

func (p *Proxy) closeBackendConn(bc *backendConn) {
	bc.conn.Close()
	p.putReader(bc.br)
	p.putWriter(bc.bw)
	bc.br, bc.bw = nil, nil
}

// defaultStaleAfter is how long a cached backend connection may sit unused before
// it is checked for a close by the instance (an idle timeout) before reuse.
const defaultStaleAfter = 500 * time.Millisecond

// idleConns is the idle keep-alive connections of one client connection, at most
// one per backend: a client connection runs one request at a time.
type idleConns struct {
	p    *Proxy
	idle []*backendConn
}

// take returns the idle connection to b if it belongs to ep (b's current
// incarnation) and alive says it is open; any other one to b is closed.
func (ic *idleConns) take(b *backend, ep *endpoint, alive func(*backendConn) bool) *backendConn {
	for i, bc := range ic.idle {
		if bc.b != b {
			continue
		}
		ic.idle = append(ic.idle[:i], ic.idle[i+1:]...)
		if bc.ep == ep && alive(bc) {
			return bc
		}
		ic.p.closeBackendConn(bc)
		return nil
	}
	return nil
}

func (ic *idleConns) put(bc *backendConn) {
	bc.lastUsed = time.Now()
	ic.idle = append(ic.idle, bc)
}

func (ic *idleConns) closeAll() {
	for _, bc := range ic.idle {
		ic.p.closeBackendConn(bc)
	}
	ic.idle = nil
}

// idleAlive is alive for both implementations: a connection used moments ago is
// taken as open; one idle for longer is probed (see peerOpen).
func idleAlive(bc *backendConn, staleAfter time.Duration) bool {
	if bc.br.Buffered() > 0 {
		return false // unsolicited bytes: the connection is out of step
	}
	if time.Since(bc.lastUsed) < staleAfter {
		return true
	}
	bc.rdl.clear() // a deadline that has passed would fail the probe
	return bc.rc != nil && peerOpen(bc.rc)
}
