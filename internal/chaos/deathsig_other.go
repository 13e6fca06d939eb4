//go:build !linux

package chaos

import "os/exec"

// stopWithUs: no parent-death signal outside Linux; a soak that dies leaves devcluster
// to be stopped by hand.
func stopWithUs(cmd *exec.Cmd) {}
