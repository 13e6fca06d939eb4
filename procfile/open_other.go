//go:build !unix

package procfile

// openFlags is 0 where O_NONBLOCK does not exist.
const openFlags = 0
