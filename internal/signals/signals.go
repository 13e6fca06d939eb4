// Package signals is the one mapping between signal names as manifests write them
// ("TERM", "SIGTERM", "term") and the signals the supervisor sends. procfile
// validates stop_signal against Names, cmd and the supervisor parse and print with
// Parse and Name.
package signals

import (
	"strings"
	"syscall"
)

// table is in the order Names lists them; TERM, the default stop signal, first.
var table = []struct {
	name string
	sig  syscall.Signal
}{
	{"TERM", syscall.SIGTERM},
	{"INT", syscall.SIGINT},
	{"QUIT", syscall.SIGQUIT},
	{"HUP", syscall.SIGHUP},
	{"KILL", syscall.SIGKILL},
	{"USR1", syscall.SIGUSR1},
	{"USR2", syscall.SIGUSR2},
	{"WINCH", syscall.SIGWINCH},
}

// Names returns the stop signals a manifest may name, without "SIG".
func Names() []string {
	out := make([]string, len(table))
	for i, e := range table {
		out[i] = e.name
	}
	return out
}

// Parse reads a signal name in any case, with or without "SIG".
func Parse(name string) (syscall.Signal, bool) {
	n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "SIG")
	for _, e := range table {
		if e.name == n {
			return e.sig, true
		}
	}
	return 0, false
}

// Name returns "SIGTERM" for syscall.SIGTERM, and the runtime's description for a
// signal outside the table.
func Name(sig syscall.Signal) string {
	for _, e := range table {
		if e.sig == sig {
			return "SIG" + e.name
		}
	}
	return sig.String()
}
