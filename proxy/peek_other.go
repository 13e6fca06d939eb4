//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import "syscall"

// peerOpen cannot probe a socket here: an idle connection is taken as open, and a
// request that then fails on it before any response byte is retried elsewhere
// (the stale keep-alive case of the retry rule).
func peerOpen(syscall.RawConn) bool { return true }

// peerClosed cannot watch a socket here: a held request runs its time.
func peerClosed(syscall.RawConn) bool { return false }
