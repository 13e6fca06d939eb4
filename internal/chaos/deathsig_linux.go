package chaos

import (
	"os/exec"
	"syscall"
)

// stopWithUs asks the kernel to send devcluster SIGTERM if the soak's process dies
// first (a test binary killed by -timeout), so that it stops its instances instead of
// serving on. Pdeathsig fires when the OS thread that started the child exits; the Go
// runtime ends a thread only when a goroutine locked to it exits, which the soak never
// does.
func stopWithUs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
