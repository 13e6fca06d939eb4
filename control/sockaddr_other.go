//go:build !linux

package control

import (
	"context"
	"fmt"
	"net"
)

// maxSockPath is the longest path a sockaddr_un holds on the BSDs and macOS.
const maxSockPath = 103

func listenUnix(path string) (*net.UnixListener, error) {
	if len(path) > maxSockPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, longer than the %d a unix socket allows; run devcluster from a shorter project path", path, len(path), maxSockPath)
	}
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}

func dialUnixAddr(ctx context.Context, path string) (net.Conn, error) {
	if len(path) > maxSockPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, longer than the %d a unix socket allows", path, len(path), maxSockPath)
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
