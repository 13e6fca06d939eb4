package supervisor

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A warm standby is an instance's next process, started while the current one
// serves: a Python interpreter that has imported the libraries the app imports
// (Flask, Django; never the app's own modules, but for a Django project's
// settings and models, checked at the go: see standby.py) and waits. When the instance
// starts again (a reload, a restart, a crash), the standby is told to go and runs
// the app in that same process: it pays for the app's own imports and binding its
// port, not for starting Python and importing Flask again, which is most of a
// Flask instance's start (0.22 s of its ~0.25 s here). A new standby is started
// once the instance is ready again and no roll of its process is going on.
//
// The standby is an ordinary child of the instance: started through the same
// path as every child (sh -c, its own process group or pty, the watchdog, the
// DEVCLUSTER_RUN marker, the same environment and directory), so everything
// that holds for a child holds for it, before and after the go. It talks to
// devcluster over a socketpair of its own: it writes one byte once warm (its
// imports done), reads one byte as the go, and exits at end of file (devcluster
// gone). standby.py says what it preloads and when it falls back to an ordinary
// start (an interpreter option it cannot apply, an app that monkey-patches, a
// library file changed since the preload).
//
// The price is one more idle interpreter per instance (31 MB of RSS for Flask,
// about what the serving instance uses), and a CPU for ~0.2 s per standby after
// each start, which is why it is InstanceSpec.Standby, off by default.

//go:embed standby.py
var standbyPy []byte

const (
	// standbyDelay is how long after an instance is ready its next standby starts
	// at the earliest, plus standbyStagger per index, so that web.1's (the next
	// roll's canary) comes first. Until the roll of its process is over, it looks
	// again every standbyRetry: a standby's start costs a CPU for ~0.2 s, which
	// the rest of a roll should not wait for.
	standbyDelay   = 100 * time.Millisecond
	standbyStagger = 5 * time.Millisecond
	standbyRetry   = 50 * time.Millisecond
	// standbyWarmTimeout bounds a standby's preload (see standbyTooSlow).
	standbyWarmTimeout = 30 * time.Second
	// standbyWarmWait is the least a start waits for a standby still
	// importing (see waitWarm), and standbyGoTimeout how long a warm one may
	// take to read its go (it waits for it in a read, so a running one takes
	// it within milliseconds); past either, the start is cold (see takeStandby).
	standbyWarmWait  = time.Second
	standbyGoTimeout = time.Second
	// standbyAttempts is how many standbys in a row may exit before their go
	// before the instance stops starting them.
	standbyAttempts = 3
	// standbyScriptName is the file Run writes standby.py to.
	standbyScriptName = "standby.py"
)

// standbyScript writes standby.py once per Run, to RunDir or else a temporary
// directory Run removes, and returns its path.
func (s *Supervisor) standbyScript() (string, error) {
	s.standbyOnce.Do(func() {
		dir := s.cfg.RunDir
		if dir == "" {
			d, err := os.MkdirTemp("", "devcluster-standby-")
			if err != nil {
				s.standbyErr = err
				return
			}
			dir, s.standbyTemp = d, d
		}
		// Through a new file and a rename: a symlink left at the name is
		// replaced, not followed.
		path := filepath.Join(dir, standbyScriptName)
		f, err := os.CreateTemp(dir, standbyScriptName+".*.tmp")
		if err == nil {
			_, err = f.Write(standbyPy)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(f.Name(), path)
			}
			if err != nil {
				_ = os.Remove(f.Name())
			}
		}
		if err != nil {
			s.standbyErr = err
			return
		}
		s.standbyPath = path
	})
	return s.standbyPath, s.standbyErr
}

// removeStandbyScript removes what standbyScript wrote: Run is returning.
func (s *Supervisor) removeStandbyScript() {
	switch {
	case s.standbyTemp != "":
		_ = os.RemoveAll(s.standbyTemp)
	case s.standbyPath != "":
		_ = os.Remove(s.standbyPath)
	}
}

// spawnStandby starts a standby for sp: a child like any other, whose readiness
// probe is not started (its port is still the current child's). It returns the
// child, devcluster's end of the socket the standby says it is warm on and
// waits for its go on, and a channel closed once it is warm.
func (s *Supervisor) spawnStandby(sp InstanceSpec) (*child, *os.File, <-chan struct{}, error) {
	script, err := s.standbyScript()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("write %s: %w", standbyScriptName, err)
	}
	// Close-on-exec from the start (under ForkLock where SOCK_CLOEXEC is
	// missing), so that no other child inherits either end.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "standby"), os.NewFile(uintptr(fds[1]), "standby")
	fd := 3 // the first descriptor after stderr, or after the watchdog's
	if s.watchR != nil {
		fd = 4
	}
	c, err := s.startChild(sp, standbyCommand(sp, script, fd), []*os.File{theirs}, nil)
	_ = theirs.Close()
	if err != nil {
		_ = ours.Close()
		return nil, nil, nil, err
	}
	c.standby = true
	warm := make(chan struct{})
	s.goroutine(func() {
		// One byte once it has imported its libraries; an error or end of file
		// when it exits first or is dropped (ours closed).
		var b [1]byte
		if n, _ := ours.Read(b[:]); n == 1 {
			close(warm)
		}
	})
	return c, ours, warm, nil
}

// standby is an instance's warm standby (see the top of this file) and what
// its instance keeps about standbys: its child, devcluster's end of its
// socket, whether it has said it is warm, the timers that start the next one
// and bound its preload, and how many in a row were lost before their go. The
// instance's goroutine owns it.
type standby struct {
	child  *child
	goW    *os.File
	warm   <-chan struct{} // closed once it has imported its libraries
	warmed bool            // warm was seen closed
	next   timer           // starts the next standby
	late   timer           // fires when the standby is not warm in time
	fails  int             // lost before their go, in a row
	off    bool            // the instance gave up on standbys
	slot   bool            // holds a place in Supervisor.warming
	// cold is how long the instance's last cold start took to be ready (see
	// waitWarm).
	cold time.Duration
}

// releaseSlot gives back the standby's place among the warming ones, if it
// holds one: it is warm, gone or taken.
func (sb *standby) releaseSlot(s *Supervisor) {
	if sb.slot {
		sb.slot = false
		<-s.warming
	}
}

// forget makes the instance have no standby (the caller has taken or reaped
// it) and returns what it had.
func (sb *standby) forget(s *Supervisor) (*child, *os.File) {
	c, goW := sb.child, sb.goW
	sb.releaseSlot(s)
	sb.late.stop()
	sb.child, sb.goW, sb.warm, sb.warmed = nil, nil, nil, false
	return c, goW
}

type warmth int

const (
	standbyWarm warmth = iota
	standbyStillCold
	standbyExitedFirst
)

// waitWarm waits for the standby to say it is warm, at most standbyWarmWait or
// what the instance's last cold start took, whichever is longer: one still
// importing has a head start on a cold start, unless its import hangs, and on
// a loaded machine both take longer.
func (in *instance) waitWarm() warmth {
	sb := &in.standby
	if sb.warmed {
		return standbyWarm
	}
	t := time.NewTimer(max(standbyWarmWait, sb.cold))
	defer t.Stop()
	select {
	case <-sb.warm:
		sb.warmed = true
		return standbyWarm
	case <-sb.child.exited:
		return standbyExitedFirst
	case <-t.C:
	case <-in.s.killCtx.Done():
	}
	return standbyStillCold
}

// armStandby has the instance's goroutine start a standby after d.
func (in *instance) armStandby(d time.Duration) {
	if !in.spec.Standby || in.standby.off || in.standby.child != nil {
		return
	}
	in.standby.next.arm(d)
}

// startStandby starts the instance's standby, if it still wants one: it runs and
// is ready, and no roll of its process is going on (a roll's starts should not
// share the CPU with standbys; the standby comes once the roll is over).
func (in *instance) startStandby() {
	sb := &in.standby
	if !in.spec.Standby || sb.off || sb.child != nil || !in.wanted || !in.ready() {
		return
	}
	if in.s.rolling(in.spec.Process) {
		in.armStandby(standbyRetry)
		return
	}
	// At most one standby per CPU warms at once: eight importing Flask together
	// would each take four times as long, the canary's among them.
	select {
	case in.s.warming <- struct{}{}:
	default:
		in.armStandby(standbyRetry/5 + time.Duration(in.spec.Index)*time.Millisecond)
		return
	}
	sb.slot = true
	c, goW, warm, err := in.s.spawnStandby(in.runSpec())
	if err != nil {
		sb.releaseSlot(in.s)
		sb.off = true
		in.s.out.logf("%s: could not start its standby (%v); its starts are cold", in.spec.ID, err)
		return
	}
	sb.child, sb.goW, sb.warm = c, goW, warm
	sb.late.arm(in.s.cfg.StandbyWarmTimeout)
}

// standbyIsWarm publishes the standby's pid: it has imported its libraries.
func (in *instance) standbyIsWarm() {
	sb := &in.standby
	sb.warmed = true
	sb.releaseSlot(in.s)
	sb.late.stop()
	in.apply(event{kind: evStandbyWarm, pid: sb.child.pid})
}

// takeStandby hands the standby the go and returns it as the instance's new
// child, or returns nil when there is none to take or it cannot run: then the
// start is cold. A standby that has not said it is warm within standbyWarmWait
// is stuck importing (an import that hangs, a broken save's library), and one
// that does not take the go within standbyGoTimeout is not running
// (SIGSTOPped, say): handing either the go would make the start wait
// StartTimeout and then blame the app, so both are dropped and the log says
// why. Its output is filtered from now on as
// a new child's would be (see repeatFilter): compared with the previous child's
// when that one failed.
func (in *instance) takeStandby() *child {
	sb := &in.standby
	if sb.child == nil {
		return nil
	}
	switch in.waitWarm() {
	case standbyExitedFirst:
		in.standbyExited()
		return nil
	case standbyStillCold:
		pid, since := sb.child.pid, in.s.now().Sub(sb.child.started)
		in.dropStandby()
		in.s.out.logf("%s: its standby (pid %d) is still importing the app's libraries after %s (an import that hangs?); starting cold",
			in.spec.ID, pid, fmtDelay(since))
		return nil
	}
	c, goW := sb.forget(in.s)
	in.apply(event{kind: evStandbyGone})
	// Before the go: from its first line on, its output is the new child's.
	c.filter.restart(in.lastFailure)
	c.started = in.s.now()
	_, err := goW.Write([]byte{1})
	if err != nil {
		_ = goW.Close()
		in.reapStandby(c) // it has exited (EPIPE): start cold
		return nil
	}
	if !tookGo(goW, standbyGoTimeout) {
		_ = goW.Close()
		in.s.out.logf("%s: its standby (pid %d) did not take the go within %s (%s); starting cold",
			in.spec.ID, c.pid, fmtDelay(standbyGoTimeout), notRunningWhy(c.pid))
		in.reapStandby(c)
		return nil
	}
	_ = goW.Close()
	sb.fails = 0
	c.activate(in.s, in.spec)
	return c
}

// tookGo reports whether the standby read its go within d. A standby that
// exited meanwhile counts as having taken it: its exit is the new child's.
func tookGo(goW *os.File, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		n, ok := unreadBytes(goW)
		if !ok || n == 0 {
			return true // read, or nothing to tell it by: as before the bound
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// notRunningWhy says what /proc tells of a process that does not answer.
func notRunningWhy(pid int) string {
	st, err := readProcStat(pid)
	switch {
	case err != nil:
		return "it does not answer"
	case st.state == 'T' || st.state == 't':
		return "it is stopped: SIGSTOP, or a debugger"
	default:
		return fmt.Sprintf("it does not answer; its state is %q", st.state)
	}
}

// standbyExited handles a standby that exited before its go: dropped, and
// replaced after a pause unless standbyAttempts did so in a row.
func (in *instance) standbyExited() {
	c, goW := in.standby.forget(in.s)
	_ = goW.Close()
	in.apply(event{kind: evStandbyGone})
	in.standbyFailed(fmt.Sprintf("exited before it was needed (%s; see devcluster logs %s)", c.exitString(), in.spec.ID))
}

// standbyTooSlow handles a standby that is not warm after standbyWarmTimeout
// (an import that hangs): stopped, and counted like one that exited.
func (in *instance) standbyTooSlow() {
	in.dropStandby()
	in.standbyFailed(fmt.Sprintf("was not warm after %s (an import of the app's libraries hangs?)", in.s.cfg.StandbyWarmTimeout))
}

// standbyFailed counts a standby lost before its go and starts another after a
// pause, unless standbyAttempts in a row were lost: then the starts stay cold.
func (in *instance) standbyFailed(what string) {
	sb := &in.standby
	sb.fails++
	if sb.fails >= standbyAttempts {
		sb.off = true
		in.s.out.logf("%s: its standby %s, %d times in a row; its starts are cold", in.spec.ID, what, sb.fails)
		return
	}
	in.armStandby(time.Duration(sb.fails) * time.Second)
}

// dropStandby stops the standby, if any, and waits until it is reaped.
func (in *instance) dropStandby() {
	in.standby.next.stop()
	c, goW := in.standby.forget(in.s)
	if c == nil {
		return
	}
	_ = goW.Close()
	in.apply(event{kind: evStandbyGone})
	in.reapStandby(c)
}

func (in *instance) reapStandby(c *child) {
	_ = signalGroup(c.pid, syscall.SIGKILL)
	<-c.exited
}

// rolling reports whether a roll of process is going on.
func (s *Supervisor) rolling(process string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rolls[process] != nil
}

// logStandbyProblems says, once per process, why a process that asked for a warm
// standby gets none.
func (s *Supervisor) logStandbyProblems(specs []InstanceSpec) {
	seen := make(map[string]bool)
	for _, sp := range specs {
		if !sp.Standby || seen[sp.Process] {
			continue
		}
		seen[sp.Process] = true
		if why := StandbyProblem(sp); why != "" {
			s.out.logf("%s: no warm standby: %s; its starts are cold", sp.Process, why)
		}
	}
}
