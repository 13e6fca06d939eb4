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
		nc, err := p.dialer.DialContext(ctx, "tcp", ep.addr)
		if err != nil {
			return nil, err
		}
		return nc.(*net.TCPConn), nil
	}
	// A copy: syscall.Connect writes its raw form into the Sockaddr.
	var sa syscall.Sockaddr
	switch a := ep.sa.(type) {
	case *syscall.SockaddrInet4:
		c := *a
		sa = &c
	case *syscall.SockaddrInet6:
		c := *a
		sa = &c
	}
	fd, err := syscall.Socket(ep.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(ep, "socket", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return nil, dialError(ep, "setsockopt", err)
	}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return nil, dialError(ep, "connect", err)
	}
	// The file registers the non-blocking socket with the runtime's poller; its
	// RawConn waits there for readiness, and Close deregisters it.
	f := os.NewFile(uintptr(fd), ep.addr)
	if err == nil {
		return f, nil
	}
	if err := waitConnected(f, p.cfg.ConnectTimeout); err != nil {
		f.Close()
		return nil, dialError(ep, "connect", err)
	}
	return f, nil
}

// waitConnected waits until the connect in progress on f succeeds or fails, for
// at most timeout (0: no limit).
func waitConnected(f *os.File, timeout time.Duration) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var result error
	check := func(fd uintptr) bool {
		switch tcpState(fd) {
		case tcpSynSent:
			return false // wait until writable: the handshake has ended
		case tcpClose:
			if result = socketError(fd); result == nil {
				result = syscall.ECONNREFUSED
			}
		case 0: // TCP_INFO unreadable: go by SO_ERROR alone
			result = socketError(fd)
		}
		return true // ESTABLISHED, or CLOSE_WAIT when the instance closed at once
	}
	if timeout > 0 {
		f.SetWriteDeadline(time.Now().Add(timeout))
		defer f.SetWriteDeadline(time.Time{})
	}
	if err := rc.Write(check); err != nil {
		return err
	}
	return result
}

// TCP states from the kernel's include/net/tcp_states.h.
const (
	tcpSynSent = 2
	tcpClose   = 7
)

// tcpState returns the socket's TCP state, or 0 if it cannot be read.
func tcpState(fd uintptr) uint8 {
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return 0
	}
	return info.State
}

func socketError(fd uintptr) error {
	v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
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
	switch {
	case ip.Is4() || ip.Is4In6():
		ep.family = syscall.AF_INET
		ep.sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ip.Unmap().As4()}
	case ip.Is6() && ip.Zone() == "":
		ep.family = syscall.AF_INET6
		ep.sa = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	}
	return ep
}
