//go:build unix

package procfile

import "syscall"

// openFlags makes readFile's open return at once on a named pipe with no
// writer (it would block until one appears); regular files ignore it.
const openFlags = syscall.O_NONBLOCK
