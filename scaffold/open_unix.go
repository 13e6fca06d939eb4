//go:build unix

package scaffold

import "syscall"

// openFlags makes readSource's open return at once on a named pipe with no
// writer; regular files ignore it.
const openFlags = syscall.O_NONBLOCK
