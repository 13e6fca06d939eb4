package supervisor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// leftoverTimeout is how long leftovers get to exit on SIGTERM before SIGKILL.
const leftoverTimeout = 2 * time.Second

// StopLeftovers stops what a previous Run with the same RunDir left running: the
// processes of a devcluster that was SIGKILLed (Pdeathsig and the watchdog take
// its process groups down, but not a daemon that called setsid). A new `up` calls
// it before Run. It finds them by the pids recorded under RUNDIR/pids/ and by the
// previous run's DEVCLUSTER_RUN marker in /proc/PID/environ, checks that each pid
// is still the process recorded (its start time), sends SIGTERM, waits up to 2 s,
// sends SIGKILL to the rest, and removes the records. It returns what it stopped,
// one "web.1 pid 1234 (python3 app.py)" per process, for cmd to report.
//
// It refuses, with an error, while the recorded devcluster itself still runs:
// those processes are not leftovers. Where /proc is missing (macOS) it can verify
// nothing and only removes the records.
func StopLeftovers(runDir string, log io.Writer) ([]string, error) {
	if log == nil {
		log = io.Discard
	}
	dir, err := pidsPath(runDir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for leftover processes: %w", err)
	}
	var run runRecord
	haveRun := readJSON(filepath.Join(dir, runFile), &run) == nil && run.Run != ""
	if haveRun && run.PID != os.Getpid() && sameProcess(run.PID, run.Start) {
		return nil, fmt.Errorf("devcluster (pid %d) is still running with %s; stop it first with devcluster down", run.PID, runDir)
	}
	procs, ids := findLeftovers(dir, entries, run, haveRun)
	descs := make([]string, len(procs))
	for i, p := range procs {
		descs[i] = fmt.Sprintf("%s pid %d (%s)", ids[i], p.pid, procCmdline(p.pid))
	}
	children.adopt(procs) // reaped here if this process is their subreaper
	signalProcs(procs, syscall.SIGTERM)
	alive := waitGone(procs, leftoverTimeout)
	if len(alive) > 0 {
		fmt.Fprintf(log, "devcluster | %d leftover process(es) still running %s after SIGTERM; sending SIGKILL\n", len(alive), leftoverTimeout)
		signalProcs(alive, syscall.SIGKILL)
		alive = waitGone(alive, detachedGrace)
	}
	children.reapSettled(detachedGrace)
	if len(alive) > 0 {
		var pids []string
		for _, p := range alive {
			pids = append(pids, fmt.Sprint(p.pid))
		}
		return descs, fmt.Errorf("leftover processes of an earlier run survived SIGKILL: pid %s", strings.Join(pids, ", "))
	}
	for _, e := range entries {
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
	_ = os.Remove(dir)
	return descs, nil
}

// findLeftovers lists the live processes of the recorded run, sorted by instance
// and pid, with the instance id of each.
func findLeftovers(dir string, entries []fs.DirEntry, run runRecord, haveRun bool) ([]markedProc, []string) {
	found := make(map[procKey]string)
	byKey := make(map[procKey]markedProc)
	for _, e := range entries {
		name := e.Name()
		if name == runFile || strings.HasSuffix(name, ".tmp") {
			continue
		}
		var rec instanceRecord
		if readJSON(filepath.Join(dir, name), &rec) != nil || rec.PID <= 1 || rec.PID == os.Getpid() {
			continue
		}
		st, err := readProcStat(rec.PID)
		if err != nil || st.zombie() || st.start != rec.Start {
			continue // gone, or the pid now names another process
		}
		key := procKey{rec.PID, st.start}
		found[key] = name
		byKey[key] = markedProc{pid: rec.PID, stat: st}
	}
	if haveRun {
		prefix := run.Run + "/"
		for _, p := range markedProcs(func(v string) bool { return strings.HasPrefix(v, prefix) }) {
			key := procKey{p.pid, p.stat.start}
			found[key] = strings.TrimPrefix(p.marker, prefix)
			byKey[key] = p
		}
	}
	keys := make([]procKey, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if found[keys[i]] != found[keys[j]] {
			return found[keys[i]] < found[keys[j]]
		}
		return keys[i].pid < keys[j].pid
	})
	procs := make([]markedProc, len(keys))
	ids := make([]string, len(keys))
	for i, k := range keys {
		procs[i], ids[i] = byKey[k], found[k]
	}
	return procs, ids
}
