package supervisor

import "golang.org/x/sys/unix"

// markAllCloseOnExec is one close_range(2) call (Linux 5.11+); it fails with
// ENOSYS or EINVAL on older kernels, and the caller falls back to /proc/self/fd.
func markAllCloseOnExec() error {
	return unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
}
