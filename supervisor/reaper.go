package supervisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// reapInterval is how often Run looks for orphans to reap. A zombie costs only
	// a pid, so there is no hurry; a look costs a few small /proc reads.
	reapInterval = 250 * time.Millisecond
	// groupMemory is how long a reaped leader's process group stays known, for the
	// zombies of its members (the watchdog subshell) that show up after it.
	groupMemory = 10 * time.Second
)

// procKey names one process for good: a pid is reused, a pid and a start time not.
type procKey struct {
	pid   int
	start uint64
}

// childTable is the process-wide record of which children devcluster may reap
// itself. As a child subreaper (see setChildSubreaper) devcluster becomes the
// parent of every orphaned descendant: a double-forked daemon, the watchdog
// subshell. Those must be reaped, but never a pid that os/exec's Wait is waiting
// for (it would fail with ECHILD), and never a child some other code started (the
// pyenv probe, a test's helper). So only these are reaped: zombies that are not a
// direct child of any Supervisor, and that either were seen alive carrying the
// marker of a running Run, or belong to the process group of an instance. The
// table is shared by every Supervisor of the process because being a subreaper,
// and so the set of children, is a property of the process (tests run many
// Supervisors at once). wait4(-1) is never called.
type childTable struct {
	mu     sync.Mutex
	direct map[int]bool                          // pids os/exec waits for
	groups map[int]time.Time                     // instance process groups; the time their leader was reaped
	known  map[procKey]bool                      // marked orphans seen alive
	runs   map[string]bool                       // ids of the Runs going on
	reaped func(pid int, status unix.WaitStatus) // tests: told about each reap
}

var children = &childTable{
	direct: make(map[int]bool),
	groups: make(map[int]time.Time),
	known:  make(map[procKey]bool),
	runs:   make(map[string]bool),
}

// startDirect runs start (a fork) with the table locked and records the new pid as
// a direct child and group leader, so no reaper looks at it in between.
func (t *childTable) startDirect(start func() (int, error)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	pid, err := start()
	if err != nil {
		return err
	}
	t.direct[pid] = true
	t.groups[pid] = time.Time{}
	return nil
}

// adopt remembers procs (live, marked processes about to be killed) so that they
// are reaped if they turn out to be orphans of this process, even if no periodic
// look saw them before they died.
func (t *childTable) adopt(procs []markedProc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range procs {
		t.known[procKey{p.pid, p.stat.start}] = true
	}
}

// waited is told that os/exec has reaped pid.
func (t *childTable) waited(pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.direct, pid)
	if _, ok := t.groups[pid]; ok {
		t.groups[pid] = time.Now()
	}
}

func (t *childTable) addRun(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.runs[id] = true
}

func (t *childTable) removeRun(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.runs, id)
}

// ours reports whether marker belongs to a Run going on. Called with t.mu held.
func (t *childTable) ours(marker string) bool {
	run, _, ok := strings.Cut(marker, "/")
	return ok && t.runs[run]
}

// reap waits for the orphans among this process's children that have exited, and
// remembers the live ones that carry a running Run's marker. It returns how many
// exited orphans could not be waited for yet.
func (t *childTable) reap() (pending int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, pid := range selfChildren() {
		if t.direct[pid] {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue
		}
		key := procKey{pid, st.start}
		if !st.zombie() {
			if !t.known[key] && t.ours(procMarker(pid)) {
				t.known[key] = true
			}
			continue
		}
		_, group := t.groups[st.pgid]
		if !t.known[key] && !group {
			continue
		}
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err == nil && got == 0 {
			// A multi-threaded process shows its leader as a zombie while its
			// other threads still exit; it can be waited for a moment later.
			pending++
			continue
		}
		if err == nil && got == pid && t.reaped != nil {
			t.reaped(pid, ws)
		}
		delete(t.known, key)
	}
	for key := range t.known {
		if st, err := readProcStat(key.pid); err != nil || st.start != key.start {
			delete(t.known, key) // gone, reaped by its own parent
		}
	}
	for pgid, gone := range t.groups {
		if !gone.IsZero() && time.Since(gone) > groupMemory {
			delete(t.groups, pgid)
		}
	}
	return pending
}

// reapSettled reaps until no exited orphan is pending, for at most timeout: after
// a kill, so that Run returns with every adopted orphan reaped.
func (t *childTable) reapSettled(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for t.reap() > 0 && time.Now().Before(deadline) {
		time.Sleep(probeInterval)
	}
}

// selfChildren lists this process's children: /proc/self/task/*/children (an
// orphan is re-parented to one of the threads), or, where that file is missing,
// every process whose parent is this one.
func selfChildren() []int {
	var pids []int
	tasks, err := os.ReadDir("/proc/self/task")
	if err == nil {
		ok := false
		for _, task := range tasks {
			data, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "children"))
			if err != nil {
				continue
			}
			ok = true
			for f := range bytes.FieldsSeq(data) {
				if pid, err := strconv.Atoi(string(f)); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		if ok {
			return pids
		}
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// reapLoop reaps orphans every reapInterval until done is closed.
func reapLoop(done <-chan struct{}) {
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			children.reap()
		}
	}
}
