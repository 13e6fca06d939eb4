package main

import "io"

// prepareProcess readies the devcluster process itself before `up` binds anything.
//
// The open-file limit: Go's runtime already raises the soft RLIMIT_NOFILE to the hard
// limit when the program starts (since Go 1.19; os/rlimit.go), and gives children the
// original soft limit back at exec, so that a Python instance using select(2) never
// sees descriptors above 1024. Calling setrlimit here would undo that second half;
// TestFileLimitRaisedForUp pins the first.
func prepareProcess(log io.Writer) {
	_ = log
}
