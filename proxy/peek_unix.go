//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proxy

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerOpen reports whether the instance has not closed the idle connection
// behind rc, with a non-blocking MSG_PEEK read (a read with a past deadline would
// not reach the socket at all): EAGAIN means nothing to read and not closed.
func peerOpen(rc syscall.RawConn) bool {
	open := false
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = errors.Is(err, unix.EAGAIN)
		return true
	})
	return err == nil && open
}

// peerClosed waits until the client behind rc closes its connection (true),
// or until bytes arrive that it must not consume (a body, a pipelined
// request: false, a close behind them cannot be seen without reading), or
// until the read deadline passes (false). It peeks without taking anything.
func peerClosed(rc syscall.RawConn) bool {
	closed := false
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return false // nothing yet: wait until readable
		case err != nil, n == 0:
			closed = true // a reset, or the end of the stream
		}
		return true
	})
	return err == nil && closed
}
