package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// portFree reports whether 127.0.0.1:port can be bound right now. Go sets
// SO_REUSEADDR, so a port in TIME_WAIT counts as free, as it does for the Python
// servers that will bind it next.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// busyPortError describes a port that cannot be bound, naming its holder when
// /proc tells.
func busyPortError(id string, port int) error {
	msg := fmt.Sprintf("start %s (port %d): address already in use", id, port)
	if pid, cmdline, ok := PortHolder(port); ok {
		msg += fmt.Sprintf(" — held by pid %d (%s)", pid, cmdline)
	}
	return errors.New(msg)
}

// checkPorts returns one error per busy port of specs, all at once.
func checkPorts(specs []InstanceSpec) error {
	var errs []error
	for _, sp := range specs {
		if sp.Port > 0 && !portFree(sp.Port) {
			errs = append(errs, busyPortError(sp.ID, sp.Port))
		}
	}
	return errors.Join(errs...)
}

// PortHolder finds the process listening on TCP port (any local address, IPv4 or
// IPv6) through /proc: the LISTEN socket's inode from /proc/net/tcp{,6}, then the
// process with a "socket:[inode]" fd. It returns ok=false off Linux, when nothing
// listens, or when the holder belongs to another user whose fds cannot be read.
func PortHolder(port int) (pid int, cmdline string, ok bool) {
	inodes := make(map[string]bool)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, ino := range listenInodes(data, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, "", false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, "", false
	}
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				return n, procCmdline(n), true
			}
		}
	}
	return 0, "", false
}

// listenInodes parses a /proc/net/tcp{,6} table and returns the inodes of the
// sockets in state LISTEN (0A) on port.
func listenInodes(table []byte, port int) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// procCmdline returns pid's command line with spaces for NULs, or "?".
func procCmdline(pid int) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(data) == 0 {
		return "?"
	}
	return strings.TrimSpace(string(bytes.ReplaceAll(data, []byte{0}, []byte{' '})))
}

// spawnBusyGrace is how long spawn looks again at a port that is busy: a probe
// that binds it for an instant (another program checking whether it is free, as
// portFree itself does) must not pass for a holder. A real holder keeps it.
const spawnBusyGrace = 250 * time.Millisecond

// portFreeSoon reports whether port is free now or within spawnBusyGrace; false
// means something holds it for longer.
func portFreeSoon(port int) bool {
	deadline := time.Now().Add(spawnBusyGrace)
	for !portFree(port) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(probeInterval)
	}
	return true
}
