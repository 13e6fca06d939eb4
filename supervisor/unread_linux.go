package supervisor

import (
	"os"
	"syscall"
	"unsafe"
)

// unreadBytes is how many bytes written to the unix socket f its peer has not
// read yet (SIOCOUTQ, which is TIOCOUTQ's number); ok is false when it cannot
// tell.
func unreadBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var v int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&v)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(v), true
}
