//go:build linux || darwin

package control

import "net"

// peerUID is the uid of the process at the other end of conn, as the kernel
// recorded it at connect time (so the peer cannot lie about it).
func peerUID(conn net.Conn) (int, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return -1, errNotUnix
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, credErr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, credErr = socketPeerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, credErr
}
