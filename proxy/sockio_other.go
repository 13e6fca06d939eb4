//go:build !linux

package proxy

import (
	"io"
	"syscall"
)

// sockIO is plain net.Conn I/O where raw socket calls are not used (see
// sockio_linux.go).
type sockIO struct {
	conn io.ReadWriter
}

func newSockIO(conn io.ReadWriter, _ syscall.RawConn) *sockIO { return &sockIO{conn: conn} }

func (s *sockIO) Read(p []byte) (int, error)  { return s.conn.Read(p) }
func (s *sockIO) Write(p []byte) (int, error) { return s.conn.Write(p) }
