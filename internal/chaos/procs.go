package chaos

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// groupsOf lists the process groups of devcluster's children (each instance leads one).
func groupsOf(parent int) []int {
	var out []int
	for _, pid := range allPIDs() {
		if ppid(pid) == parent {
			if g, err := syscall.Getpgid(pid); err == nil && g == pid {
				out = append(out, g)
			}
		}
	}
	return out
}

// leftovers polls for 2 s (a reparented descendant may still be exiting) and then names
// each process of procs (pid → start time) that still runs and each port that is still
// held.
func leftovers(procs map[int]string, ports []int) []string {
	var out []string
	deadline := time.Now().Add(2 * time.Second)
	for {
		out = out[:0]
		for pid, start := range procs {
			if alive(pid) && startTime(pid) == start {
				out = append(out, fmt.Sprintf("pid %d (%s) still runs", pid, cmdline(pid)))
			}
		}
		for _, p := range ports {
			if err := portFree(p); err != nil {
				out = append(out, err.Error())
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			sort.Strings(out)
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("port %d is still in use (%v)", port, errors.Unwrap(err))
	}
	ln.Close()
	return nil
}

// groupMembers lists every process in process group pgid, found through /proc.
func groupMembers(pgid int) []int {
	var out []int
	for _, pid := range allPIDs() {
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return nil
	}
	return strings.Fields(s[i+2:])
}

// alive is true for a live, non-zombie process.
func alive(pid int) bool {
	f := procStat(pid)
	return len(f) > 0 && f[0] != "Z"
}

// startTime is the process's start time in clock ticks since boot (field 22 of
// /proc/PID/stat): with the pid, it names one process even after pids wrap.
func startTime(pid int) string {
	if f := procStat(pid); len(f) > 19 {
		return f[19]
	}
	return ""
}

func ppid(pid int) int {
	f := procStat(pid)
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func cmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	s := strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
