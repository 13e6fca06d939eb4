package supervisor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// runEnv is the variable that marks every process of an instance: devcluster sets
// it to "RUN/ID" (RUN is the Run's random id, ID the instance's) and every
// descendant inherits it, including one that double-forked and called setsid to
// leave the process group and session. Reading /proc/PID/environ for it is how a
// stop finds the detached ones, and how the next `up` finds what a SIGKILLed run
// left behind.
const runEnv = "DEVCLUSTER_RUN"

// procStat is what devcluster needs from /proc/PID/stat.
type procStat struct {
	state byte // 'R', 'S', 'Z', ...
	ppid  int
	pgid  int
	start uint64 // clock ticks after boot: with the pid, names one process for good
}

func (st procStat) zombie() bool { return st.state == 'Z' || st.state == 'X' }

// readProcStat parses /proc/PID/stat; the command name in parentheses may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed /proc stat")
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, errors.New("malformed /proc stat")
	}
	st := procStat{state: f[0][0]}
	st.ppid, _ = strconv.Atoi(string(f[1]))
	st.pgid, _ = strconv.Atoi(string(f[2]))
	st.start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return st, err
}

// procMarker returns the value of runEnv in pid's environment, "" when it has none
// or cannot be read (another user's process, a zombie).
func procMarker(pid int) string {
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return ""
	}
	key := []byte(runEnv + "=")
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, key); ok {
			return string(v)
		}
	}
	return ""
}

// markedProc is a live process carrying a marker.
type markedProc struct {
	pid    int
	marker string
	stat   procStat
}

// markedProcs lists the live processes whose marker satisfies match, except
// devcluster itself. Without /proc (macOS) it finds nothing.
func markedProcs(match func(marker string) bool) []markedProc {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []markedProc
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		m := procMarker(pid)
		if m == "" || !match(m) {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.zombie() {
			continue
		}
		out = append(out, markedProc{pid: pid, marker: m, stat: st})
	}
	return out
}

// sameProcess reports whether pid is still the live process that started at
// start: a pid is reused once its process is reaped.
func sameProcess(pid int, start uint64) bool {
	st, err := readProcStat(pid)
	return err == nil && !st.zombie() && st.start == start
}
