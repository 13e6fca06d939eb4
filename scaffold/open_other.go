//go:build !unix

package scaffold

// openFlags is 0 where O_NONBLOCK does not exist.
const openFlags = 0
