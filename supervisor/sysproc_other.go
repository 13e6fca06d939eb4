//go:build unix && !linux

package supervisor

import "syscall"

// groupAttrs puts the child in its own process group. Pdeathsig is Linux only:
// elsewhere children outlive a SIGKILLed devcluster unless the watchdog of a
// compound command catches it.
func groupAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func ptyAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true}
}
