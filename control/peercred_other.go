//go:build !linux && !darwin

package control

import (
	"errors"
	"net"
)

// peerUID cannot ask the kernel here; the 0700 directory is the only guard.
func peerUID(conn net.Conn) (int, error) {
	return -1, errors.ErrUnsupported
}
