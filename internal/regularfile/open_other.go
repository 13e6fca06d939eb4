//go:build !unix

package regularfile

// openFlags is 0 where O_NONBLOCK does not exist.
const openFlags = 0
