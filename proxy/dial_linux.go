package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dialBackend connects to an instance. For a literal IP address it opens the
// socket itself, as HAProxy does, instead of going through net.Dialer: on
// loopback the connection is established by the time connect returns to user
// space (the handshake runs in the kernel while the call holds the socket), so a
// getsockopt(TCP_INFO) confirms it without parking the goroutine in the poller,
// and none of net's getsockopt(SO_ERROR), getsockname and getpeername calls are
// needed. This is the cost of every request to an instance that closes each
// connection, as Flask's development server does. Measured with bench/proxy.sh
// MODE=close THREADS=2: see the README.
func (p *Proxy) dialBackend(ctx context.Context, ep *endpoint) (sock, error) {
	if ep.sa == nil {
		return p.dialNet(ctx, ep)
	}
	// Raw system calls (see rawGetsockopt): each returns at once on a non-blocking
	// socket. x/sys/unix's Socket is raw already.
	fd, err := unix.Socket(ep.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(ep, "socket", err)
	}
	one := int32(1)
	if err := rawSetsockopt(uintptr(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, unsafe.Pointer(&one), 4); err != nil {
		unix.Close(fd)
		return nil, dialError(ep, "setsockopt", err)
	}
	pending, err := connectSocket(uintptr(fd), ep)
	if err != nil {
		unix.Close(fd)
		return nil, dialError(ep, "connect", err)
	}
	// The file registers the non-blocking socket with the runtime's poller; its
	// RawConn waits there for readiness, and Close deregisters it.
	f := os.NewFile(uintptr(fd), ep.addr)
	if pending {
		if err := waitConnected(f, nil, p.cfg.ConnectTimeout); err != nil {
			f.Close()
			return nil, dialError(ep, "connect", err)
		}
	}
	return f, nil
}

// connectSocket starts connecting fd to ep. pending: the handshake is still in
// progress (wait for the socket to become writable); err: it failed already.
func connectSocket(fd uintptr, ep *endpoint) (pending bool, err error) {
	ptr, size := ep.sa.pointer()
	var e unix.Errno
	for {
		// Not unix.Connect: it writes the address into its Sockaddr argument on
		// every call, and the endpoint is shared by every client connection; and
		// raw, see rawGetsockopt.
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(ptr), size)
		if e != unix.EINTR {
			break
		}
	}
	switch e {
	case 0:
		return false, nil
	case unix.EINPROGRESS:
		return connectResult(fd)
	}
	return false, e
}

// connectResult tells whether the connect in progress on fd has ended, and how.
func connectResult(fd uintptr) (pending bool, err error) {
	switch tcpState(fd) {
	case tcpSynSent:
		return true, nil
	case tcpClose:
		if err = socketError(fd); err == nil {
			err = unix.ECONNREFUSED
		}
		return false, err
	case 0: // TCP_INFO unreadable: go by SO_ERROR alone
		return false, socketError(fd)
	}
	return false, nil // ESTABLISHED, or CLOSE_WAIT when the instance closed at once
}

// waitConnected waits until the connect in progress on f has ended, for at most
// timeout (0: no limit). rc is f's RawConn, if the caller has it.
func waitConnected(f *os.File, rc syscall.RawConn, timeout time.Duration) error {
	if rc == nil {
		var err error
		if rc, err = f.SyscallConn(); err != nil {
			return err
		}
	}
	if timeout > 0 {
		f.SetWriteDeadline(time.Now().Add(timeout))
		defer f.SetWriteDeadline(time.Time{})
	}
	var result error
	err := rc.Write(func(fd uintptr) bool {
		pending, err := connectResult(fd)
		result = err
		return !pending // pending: wait until writable, when the handshake has ended
	})
	if err != nil {
		return err
	}
	return result
}

// redial connects the socket of bc, which its instance closed after a response
// ("Connection: close"), to ep: a new connection in the same socket, without
// socket, close and the poller's (de)registration per request. Its connection is
// ended first (endConnection), unless retire did that already (unconnect).
//
// reused: bc is connected to ep now, or err says why the connect failed (bc must
// then be closed). Otherwise nothing was connected, and wait tells whether bc may
// become reusable later (the instance has not closed its side yet) or is to be
// closed (not a socket of ours, another address family, disconnect refused).
func (p *Proxy) redial(bc *backendConn, ep *endpoint) (reused, wait bool, err error) {
	f, isFile := bc.conn.(*os.File)
	if !isFile || bc.rc == nil || ep.sa == nil || ep.family != bc.ep.family {
		return false, false, nil
	}
	ctl := bc.sockCtl()
	ctl.ep = ep
	cerr := bc.rc.Control(ctl.fn)
	ctl.ep = nil
	if cerr != nil || !ctl.reused {
		return false, ctl.end == endWait && cerr == nil, nil
	}
	err = ctl.err
	if err == nil && ctl.pending {
		err = waitConnected(f, bc.rc, p.cfg.ConnectTimeout)
	}
	if err != nil {
		return true, false, dialError(ep, "connect", err)
	}
	return true, false, nil
}

// unconnect ends bc's connection now if its instance has closed already (see
// endConnection): called as bc is retired after a complete response, once the
// response has gone to the client, so that the client's next request pays only
// for the connect. false: bc is to be closed.
func unconnect(bc *backendConn) bool {
	if bc.rc == nil {
		return false
	}
	ctl := bc.sockCtl()
	cerr := bc.rc.Control(ctl.fn)
	return cerr == nil && ctl.end != endFailed
}

// sockCtl is what redial and unconnect run in their RawConn's Control, with its
// argument and results in fields: its func is made once per connection, where a
// closure per call would be allocations per request.
type sockCtl struct {
	fn          func(fd uintptr)
	ep          *endpoint // redial: connect to it; nil: unconnect, end the connection only
	unconnected bool      // the connection has ended: the socket is ready for a connect
	end         int       // endConnection's result
	reused      bool      // redial: the socket was connected again
	pending     bool      // … and the handshake is in progress
	err         error     // … or it failed
}

func (bc *backendConn) sockCtl() *sockCtl {
	c := &bc.ctl
	if c.fn == nil {
		c.fn = c.run
	}
	c.end, c.reused, c.pending, c.err = endDone, false, false, nil
	return c
}

func (c *sockCtl) run(fd uintptr) {
	if !c.unconnected {
		if c.end = endConnection(fd); c.end != endDone {
			return
		}
		c.unconnected = true
	}
	if c.ep == nil {
		return
	}
	c.unconnected, c.reused = false, true
	c.pending, c.err = connectSocket(fd, c.ep)
}

// Results of endConnection.
const (
	endDone   = iota // fd is unconnected: connect may use it
	endWait          // the instance still holds the connection open: leave it be
	endFailed        // the disconnect was refused: close fd
)

// endConnection ends fd's connection once its instance has closed its side and
// returns the socket to its unconnected state with connect(AF_UNSPEC), which
// Linux allows for TCP. In CLOSE_WAIT that disconnect answers the instance's FIN
// with a reset instead of a FIN of ours: nothing can be lost by it, since the
// instance's FIN says it has sent everything, and every byte of the response
// has been read (the exchange is over); it saves the shutdown call, and the
// instance's kernel its TIME_WAIT entry, per request. A connection the instance
// still holds open (no FIN yet) is left be: a reset could reach its process.
func endConnection(fd uintptr) int {
	switch tcpState(fd) {
	case tcpCloseWait, tcpClose, tcpLastAck:
	default:
		return endWait
	}
	if disconnect(fd) != nil {
		return endFailed
	}
	socketError(fd) // reading SO_ERROR clears whatever the old connection left
	return endDone
}

// disconnect dissolves fd's connection with connect(AF_UNSPEC). x/sys/unix has
// no Sockaddr for AF_UNSPEC, so this one call passes a zero RawSockaddr itself.
func disconnect(fd uintptr) error {
	var unspec unix.RawSockaddr // sa_family 0: AF_UNSPEC
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec))
	if e != 0 {
		return e
	}
	return nil
}

// TCP states from the kernel's include/net/tcp_states.h.
const (
	tcpSynSent   = 2
	tcpClose     = 7
	tcpCloseWait = 8
	tcpLastAck   = 9
)

// rawGetsockopt and rawSetsockopt are getsockopt and setsockopt as raw system
// calls. The calls of a connect and a redial are raw, unlike x/sys/unix's
// Getsockopt*, Setsockopt*, Connect and Shutdown: a plain system call enters the
// scheduler's syscall state and wakes the runtime's monitor (sysmon) when it
// sleeps, the cost sockIO avoids for reads and writes; each of these returns at
// once on a non-blocking socket.
func rawGetsockopt(fd, level, opt uintptr, val unsafe.Pointer, size *uint32) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, fd, level, opt, uintptr(val), uintptr(unsafe.Pointer(size)), 0); e != 0 {
		return e
	}
	return nil
}

func rawSetsockopt(fd, level, opt uintptr, val unsafe.Pointer, size uintptr) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, level, opt, uintptr(val), size, 0); e != 0 {
		return e
	}
	return nil
}

// tcpState returns the socket's TCP state, or 0 if it cannot be read.
func tcpState(fd uintptr) uint8 {
	var info unix.TCPInfo
	size := uint32(unix.SizeofTCPInfo)
	if rawGetsockopt(fd, unix.IPPROTO_TCP, unix.TCP_INFO, unsafe.Pointer(&info), &size) != nil {
		return 0
	}
	return info.State
}

// socketError reads (and so clears) the socket's pending error.
func socketError(fd uintptr) error {
	var v int32
	size := uint32(4)
	if err := rawGetsockopt(fd, unix.SOL_SOCKET, unix.SO_ERROR, unsafe.Pointer(&v), &size); err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

func dialError(ep *endpoint, call string, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) && err == error(errno) {
		err = os.NewSyscallError(call, err)
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: ep.tcp, Err: err}
}

// rawSockaddr is a literal IP address as the kernel's connect wants it, built
// once per endpoint and only read afterwards.
type rawSockaddr struct {
	in4 unix.RawSockaddrInet4
	in6 unix.RawSockaddrInet6
	is6 bool
}

func (sa *rawSockaddr) pointer() (unsafe.Pointer, uintptr) {
	if sa.is6 {
		return unsafe.Pointer(&sa.in6), unix.SizeofSockaddrInet6
	}
	return unsafe.Pointer(&sa.in4), unix.SizeofSockaddrInet4
}

// networkOrder returns port as sin_port holds it: big-endian bytes in a uint16
// of the host's order.
func networkOrder(port uint16) uint16 {
	return binary.NativeEndian.Uint16([]byte{byte(port >> 8), byte(port)})
}

// newEndpoint parses addr once: a literal "IP:port" gets a socket address for
// dialBackend; a host name is left to net.Dialer.
func newEndpoint(addr string) *endpoint {
	ep := &endpoint{addr: addr}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ep
	}
	ep.tcp = net.TCPAddrFromAddrPort(ap)
	ip := ap.Addr()
	switch {
	case ip.Is4() || ip.Is4In6():
		ep.family = unix.AF_INET
		ep.sa = &rawSockaddr{in4: unix.RawSockaddrInet4{Family: unix.AF_INET, Port: networkOrder(ap.Port()), Addr: ip.Unmap().As4()}}
	case ip.Is6() && ip.Zone() == "":
		ep.family = unix.AF_INET6
		ep.sa = &rawSockaddr{is6: true, in6: unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: networkOrder(ap.Port()), Addr: ip.As16()}}
	}
	return ep
}
