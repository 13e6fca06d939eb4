package control

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxSockPath is the longest path a sockaddr_un holds (108 bytes with the NUL).
const maxSockPath = 107

// listenUnix listens on path. A project nested deep enough makes the socket
// path longer than a sockaddr_un holds; then it binds through
// /proc/self/fd/N/control.sock, N an O_PATH descriptor of the directory, which
// the kernel resolves to the same file.
func listenUnix(path string) (*net.UnixListener, error) {
	var ln *net.UnixListener
	err := viaShortPath(path, func(p string) error {
		var err error
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	return ln, err
}

// dialUnixAddr connects to path, shortening it as listenUnix does.
func dialUnixAddr(ctx context.Context, path string) (net.Conn, error) {
	var conn net.Conn
	err := viaShortPath(path, func(p string) error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, "unix", p)
		return err
	})
	return conn, err
}

func viaShortPath(path string, f func(string) error) error {
	if len(path) <= maxSockPath {
		return f(path)
	}
	dir := filepath.Dir(path)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &net.OpError{Op: "open", Net: "unix", Err: fmt.Errorf("%s: %w", dir, err)}
	}
	defer unix.Close(fd)
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(path)))
}
