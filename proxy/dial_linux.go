package proxy

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
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
	// Raw system calls: each returns at once on a non-blocking socket, so the
	// goroutine keeps its P and the runtime's monitor is not woken (see sockIO).
	r, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(ep.family),
		syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if e != 0 {
		return nil, dialError(ep, "socket", e)
	}
	fd := r
	one := int32(1)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY,
		uintptr(unsafe.Pointer(&one)), 4, 0); e != 0 {
		syscall.Close(int(fd))
		return nil, dialError(ep, "setsockopt", e)
	}
	pending, err := connectSocket(fd, ep)
	if err != nil {
		syscall.Close(int(fd))
		return nil, dialError(ep, "connect", err)
	}
	// The file registers the non-blocking socket with the runtime's poller; its
	// RawConn waits there for readiness, and Close deregisters it.
	f := os.NewFile(fd, ep.addr)
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
	var e syscall.Errno
	for {
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&ep.sa[0])), uintptr(len(ep.sa)))
		if e != syscall.EINTR {
			break
		}
	}
	switch e {
	case 0:
		return false, nil
	case syscall.EINPROGRESS:
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
			err = syscall.ECONNREFUSED
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
// socket, close and the poller's (de)registration per request. Our side is closed
// first as close would do it (a FIN, which the instance acknowledges), then
// connect(AF_UNSPEC) returns the socket to its unconnected state, which Linux
// allows for TCP.
//
// reused: bc is connected to ep now, or err says why the connect failed (bc must
// then be closed). Otherwise nothing was connected, and wait tells whether bc may
// become reusable later (the instance has not closed its side yet) or is to be
// closed (not a socket of ours, another address family, disconnect refused).
func (p *Proxy) redial(bc *backendConn, ep *endpoint) (reused, wait bool, err error) {
	f, isFile := bc.conn.(*os.File)
	if !isFile || bc.sio.rc == nil || ep.sa == nil || ep.family != bc.ep.family {
		return false, false, nil
	}
	var pending bool
	cerr := bc.sio.rc.Control(func(fd uintptr) {
		switch tcpState(fd) {
		case tcpCloseWait: // the instance's FIN is in: send ours
			syscall.RawSyscall(syscall.SYS_SHUTDOWN, fd, syscall.SHUT_WR, 0)
		case tcpClose, tcpLastAck:
		default: // the instance still holds the connection open: leave it be
			wait = true
			return
		}
		var unspec syscall.RawSockaddr // sa_family AF_UNSPEC: disconnect
		if _, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec)); e != 0 {
			return
		}
		socketError(fd) // reading SO_ERROR clears whatever the old connection left
		reused = true
		pending, err = connectSocket(fd, ep)
	})
	if cerr != nil || !reused {
		return false, wait && cerr == nil, nil
	}
	if err == nil && pending {
		err = waitConnected(f, bc.sio.rc, p.cfg.ConnectTimeout)
	}
	if err != nil {
		return true, false, dialError(ep, "connect", err)
	}
	return true, false, nil
}

// TCP states from the kernel's include/net/tcp_states.h.
const (
	tcpSynSent   = 2
	tcpClose     = 7
	tcpCloseWait = 8
	tcpLastAck   = 9
)

// tcpState returns the socket's TCP state, or 0 if it cannot be read.
func tcpState(fd uintptr) uint8 {
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return 0
	}
	return info.State
}

// socketError reads (and so clears) the socket's pending error.
func socketError(fd uintptr) error {
	var v int32
	size := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&size)), 0)
	switch {
	case e != 0:
		return e
	case v != 0:
		return syscall.Errno(v)
	}
	return nil
}

func dialError(ep *endpoint, call string, err error) error {
	if _, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(call, err)
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: ep.tcp, Err: err}
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
	port := ap.Port()
	switch {
	case ip.Is4() || ip.Is4In6():
		ep.family = syscall.AF_INET
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip.Unmap().As4()}
		putPort(&sa.Port, port)
		ep.sa = unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	case ip.Is6() && ip.Zone() == "":
		ep.family = syscall.AF_INET6
		sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ip.As16()}
		putPort(&sa.Port, port)
		ep.sa = unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	return ep
}

// putPort stores port in network byte order, as sockaddr_in's sin_port wants it.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}
