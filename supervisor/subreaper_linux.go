package supervisor

import "golang.org/x/sys/unix"

// setChildSubreaper makes devcluster the parent of every orphaned descendant,
// instead of init: a daemon that double-forked and called setsid has left the
// instance's process group and session, and would otherwise escape every stop.
// It is a property of the process and stays set: another Run in the same
// process (tests) relies on it too.
func setChildSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
