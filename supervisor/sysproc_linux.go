package supervisor

import "syscall"

// groupAttrs puts the child in its own process group (so stop signals reach its
// whole tree) and asks the kernel to SIGKILL it if the thread that forked it dies,
// which is how children die with a SIGKILLed devcluster.
func groupAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// ptyAttrs makes the child a session leader with the pty as controlling
// terminal; a session leader also leads its own process group (pgid == pid).
func ptyAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
}
