//go:build unix && !linux

package supervisor

import "errors"

// markAllCloseOnExec has no single system call here (FreeBSD's close_range has no
// CLOEXEC flag in x/sys); the caller lists the descriptors instead.
func markAllCloseOnExec() error { return errors.ErrUnsupported }
