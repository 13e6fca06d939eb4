package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestFileLimitRaised pins what prepareProcess relies on (issue 10, item 4): the Go
// runtime has raised the soft open-file limit to the hard one (less one, see
// syscall/rlimit.go), so that up serves as many connections as the user's hard
// limit allows instead of failing accept with EMFILE at the soft limit (often 1024).
func TestFileLimitRaised(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max-1 {
		t.Errorf("RLIMIT_NOFILE: soft %d, hard %d: want the soft limit raised to the hard one (or one below)", lim.Cur, lim.Max)
	}
}
