package supervisor

import (
	"strings"
	"syscall"
	"time"
)

// detachedGrace bounds the wait for SIGKILLed detached processes to be gone.
const detachedGrace = time.Second

// marker is the runEnv value of instance id's processes.
func (s *Supervisor) marker(id string) string { return s.runID + "/" + id }

// detached lists the live processes of instance id that are outside the process
// group led by pgid: descendants that called setsid or setpgid, which a signal to
// the group does not reach. The groups of the instance's other children (its
// standby, see standby.go) are not detached: they carry the same marker.
func (s *Supervisor) detached(id string, pgid int) []markedProc {
	m := s.marker(id)
	s.liveMu.Lock()
	live := make(map[int]bool, len(s.live[id]))
	for pid := range s.live[id] {
		live[pid] = true
	}
	s.liveMu.Unlock()
	var out []markedProc
	for _, p := range markedProcs(func(v string) bool { return v == m }) {
		if p.stat.pgid != pgid && !live[p.stat.pgid] {
			out = append(out, p)
		}
	}
	return out
}

// addLive records pid, the leader of a new child of instance id.
func (s *Supervisor) addLive(id string, pid int) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.live[id] == nil {
		s.live[id] = make(map[int]bool)
	}
	s.live[id][pid] = true
}

// removeLive forgets pid: the child it led has been reaped.
func (s *Supervisor) removeLive(id string, pid int) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	delete(s.live[id], pid)
	if len(s.live[id]) == 0 {
		delete(s.live, id)
	}
}

// signalProcs sends sig to each of procs that is still the same process.
func signalProcs(procs []markedProc, sig syscall.Signal) {
	for _, p := range procs {
		if sameProcess(p.pid, p.stat.start) {
			_ = syscall.Kill(p.pid, sig) // ESRCH: it has just exited
		}
	}
}

// waitGone polls until none of procs is alive or timeout passes, and returns those
// still alive.
func waitGone(procs []markedProc, timeout time.Duration) []markedProc {
	deadline := time.Now().Add(timeout)
	for {
		var alive []markedProc
		for _, p := range procs {
			if sameProcess(p.pid, p.stat.start) {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return alive
		}
		procs = alive
		time.Sleep(probeInterval)
	}
}

// killDetached SIGKILLs what instance id left outside its group when its leader
// pgid was reaped, waits for it to die, and reaps what re-parented to devcluster.
// Whatever an instance started goes with it, wherever it moved: a detached daemon
// that kept the port would make the next start fail with EADDRINUSE.
func (s *Supervisor) killDetached(id string, pgid int) {
	s.spawnMu.Lock()
	procs := s.detached(id, pgid)
	if len(procs) == 0 {
		s.spawnMu.Unlock()
		return
	}
	children.adopt(procs)
	signalProcs(procs, syscall.SIGKILL)
	s.spawnMu.Unlock()
	for _, p := range waitGone(procs, detachedGrace) {
		s.out.logf("%s: pid %d (%s) outlived SIGKILL", id, p.pid, procCmdline(p.pid))
	}
	children.reapSettled(detachedGrace)
}

// killRun SIGKILLs every process still carrying this Run's marker, the last sweep
// before Run returns, and reaps them.
func (s *Supervisor) killRun() {
	prefix := s.runID + "/"
	procs := markedProcs(func(v string) bool { return strings.HasPrefix(v, prefix) })
	if len(procs) > 0 {
		children.adopt(procs)
		signalProcs(procs, syscall.SIGKILL)
		waitGone(procs, detachedGrace)
	}
	children.reapSettled(detachedGrace)
}
