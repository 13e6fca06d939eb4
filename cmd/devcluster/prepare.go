package main

import "github.com/devcluster/devcluster/supervisor"

// prepareProcess readies the devcluster process itself before `up` binds anything.
//
// Inherited descriptors: one the launching shell left open without close-on-exec
// (`exec 7<secret; devcluster up`) would be open in every instance; they are all
// marked close-on-exec before anything forks (issue 10, item 11).
//
// The open-file limit (issue 10, item 4): Go's runtime already raises the soft
// RLIMIT_NOFILE to the hard limit, less one, when the program starts (since Go 1.19;
// see syscall/rlimit.go: Max-1 lets it tell a later prlimit), and gives children the
// original soft limit back at exec, so that a Python instance using select(2) never
// sees descriptors above 1024. Calling setrlimit here as well would undo that second
// half. TestFileLimitRaised and fd_limit.txtar pin both.
func prepareProcess(log *logWriter) {
	if err := supervisor.MarkInheritedCloseOnExec(); err != nil {
		log.printf("warning: could not mark inherited file descriptors close-on-exec: %v; instances may inherit them", err)
	}
}
