//go:build unix

package regularfile

import "syscall"

// openFlags makes Read's open return at once on a named pipe with no writer
// (it would block until one appears); regular files ignore it.
const openFlags = syscall.O_NONBLOCK
