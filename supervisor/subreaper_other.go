//go:build unix && !linux

package supervisor

// setChildSubreaper does nothing here: only Linux has PR_SET_CHILD_SUBREAPER
// (FreeBSD's procctl(PROC_REAP_ACQUIRE) is not in x/sys). Detached descendants
// are still stopped by their marker, where /proc shows it.
func setChildSubreaper() error { return nil }
