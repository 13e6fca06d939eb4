package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/devcluster/devcluster/internal/signals"
)

// outputGrace is how long a child's output may keep flowing after its leader was
// reaped and its group killed (something outside the group may still hold the
// pipe); then the read end is closed so Run can return.
const outputGrace = time.Second

// removedEnv belong to Flask's and Django's own reloaders: inherited, they make
// the child believe it is a reloader's worker and reuse a dead parent's socket.
var removedEnv = []string{"WERKZEUG_RUN_MAIN", "WERKZEUG_SERVER_FD", "RUN_MAIN"}

// childEnv is spec.Env minus the reloader variables, plus devcluster's own and
// the runEnv marker (which replaces an outer devcluster's).
func childEnv(sp InstanceSpec, marker string) []string {
	set := map[string]string{
		runEnv:                marker,
		"PS":                  sp.ID,
		"DEVCLUSTER_PROCESS":  sp.Process,
		"DEVCLUSTER_INSTANCE": strconv.Itoa(sp.Index),
		"PYTHONUNBUFFERED":    "1",
	}
	if sp.Port > 0 {
		set["PORT"] = strconv.Itoa(sp.Port)
	}
	env := make([]string, 0, len(sp.Env)+len(set))
	for _, kv := range sp.Env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := set[k]; ours || k == "PORT" || contains(removedEnv, k) {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"PORT", "PS", "DEVCLUSTER_PROCESS", "DEVCLUSTER_INSTANCE", "PYTHONUNBUFFERED", runEnv} {
		if v, ok := set[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// watchdogScript starts, in the child's process group, a subshell blocked reading
// fd 3: the read end of a pipe whose only write end devcluster holds. When
// devcluster dies by any means the read returns EOF and the subshell SIGKILLs the
// whole group — what Pdeathsig (which reaches only sh) cannot do for the
// grandchildren of a compound command. The double fork makes the watchdog an
// orphan rather than a child of the exec'd program, which would otherwise see an
// unknown child die at every stop (gunicorn's master logs it as a lost worker).
const watchdogScript = "( ( read _ <&3; kill -KILL 0 ) & ) && exec 3<&-\n"

// shellScript is what sh -c runs. A simple command is exec'd, so the program
// itself is the group leader and gets the Pdeathsig; a compound one runs under sh.
// Either way, when watchdog is true, the watchdog subshell guards the group, so
// grandchildren (a reloader's worker, the second half of "a && b") die too.
func shellScript(command string, watchdog bool) string {
	script := command
	if simpleCommand(command) && !strings.HasPrefix(strings.TrimSpace(command), "exec ") {
		script = "exec " + command
	}
	if watchdog {
		script = watchdogScript + script
	}
	return script
}

// spawner forks every child from one goroutine locked to its OS thread: Linux
// sends Pdeathsig when the *thread* that forked a child exits, and Go may retire
// any unlocked thread at any time.
type spawner struct {
	reqs chan func()
}

// run serves spawn requests until done is closed. It never unlocks the thread, so
// the thread exits with the goroutine — by then every child has been reaped.
func (sp *spawner) run(done <-chan struct{}) {
	runtime.LockOSThread()
	for {
		select {
		case f := <-sp.reqs:
			f()
		case <-done:
			return
		}
	}
}

func (sp *spawner) do(f func() error) error {
	errc := make(chan error, 1)
	sp.reqs <- func() { errc <- f() }
	return <-errc
}

// child is one running OS process of an instance.
type child struct {
	pid     int
	started time.Time
	exited  chan struct{} // closed once reaped and its output drained
	state   *os.ProcessState
	waitErr error
	ready   chan struct{} // closed by the readiness prober
	// logSeen is closed at the first line of output ReadyLog matches.
	logSeen chan struct{}
	// probeCtx ends when the child is reaped; the prober runs from activate.
	probeCtx  context.Context
	stopProbe context.CancelFunc
	filter    *repeatFilter // which of its lines reach the terminal
	standby   bool          // started as a warm standby (see spawnStandby)
}

// exitString says how the child ended: "exit status 1", "signal: killed".
func (c *child) exitString() string {
	if c.state != nil {
		return c.state.String()
	}
	if c.waitErr != nil {
		return c.waitErr.Error()
	}
	return "unknown exit"
}

// exitReason says how the child ended, for an error: "exited with status 1",
// "was killed by SIGKILL".
func (c *child) exitReason() string {
	if c.state != nil {
		if ws, ok := c.state.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Exited():
				return fmt.Sprintf("exited with status %d", ws.ExitStatus())
			case ws.Signaled():
				return "was killed by " + signals.Name(ws.Signal())
			}
		}
	}
	return c.exitString()
}

func (c *child) exitCode() int {
	if c.state == nil {
		return -1
	}
	return c.state.ExitCode()
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// startCommand starts cmd in its own process group, or under a new pty as its
// session leader, and returns the read end of its output.
func startCommand(cmd *exec.Cmd, usePTY bool) (*os.File, error) {
	if usePTY {
		return pty.StartWithAttrs(cmd, nil, ptyAttrs())
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = groupAttrs()
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// spawn starts sp's command and the goroutines that copy its output, reap it and
// probe its readiness. prevFailure is what the previous child printed if it failed
// (see repeatFilter).
func (s *Supervisor) spawn(sp InstanceSpec, prevFailure []string) (*child, error) {
	c, err := s.startChild(sp, sp.Command, nil, prevFailure)
	if err != nil {
		return nil, err
	}
	c.activate(s, sp)
	return c, nil
}

// startChild starts command for sp and the goroutines that copy its output and
// reap it. more are descriptors it gets after the watchdog's (3, when there is a
// watchdog). Its readiness probe waits for activate: a standby's port is not its
// own yet.
func (s *Supervisor) startChild(sp InstanceSpec, command string, more []*os.File, prevFailure []string) (*child, error) {
	cmd := exec.Command("/bin/sh", "-c", shellScript(command, s.watchR != nil))
	cmd.Dir = sp.Dir
	cmd.Env = childEnv(sp, s.marker(sp.ID))
	if s.watchR != nil {
		cmd.ExtraFiles = []*os.File{s.watchR}
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, more...)
	var out *os.File
	s.spawnMu.RLock()
	err := s.spawner.do(func() error {
		return children.startDirect(func() (int, error) {
			f, err := startCommand(cmd, s.cfg.PTY)
			if err != nil {
				return 0, err
			}
			out = f
			return cmd.Process.Pid, nil
		})
	})
	if err != nil {
		s.spawnMu.RUnlock()
		return nil, err
	}
	c := &child{
		pid:     cmd.Process.Pid,
		started: s.now(),
		exited:  make(chan struct{}),
		ready:   make(chan struct{}),
		logSeen: make(chan struct{}),
		filter:  newRepeatFilter(s.out, prevFailure),
	}
	seen := false
	s.addLive(sp.ID, c.pid)
	s.spawnMu.RUnlock()
	c.probeCtx, c.stopProbe = context.WithCancel(context.Background())
	readDone := make(chan struct{})
	s.goroutine(func() {
		defer close(readDone)
		copyLines(out, func(line string) {
			if !seen && sp.readyLog != nil && sp.readyLog.MatchString(line) {
				seen = true
				close(c.logSeen)
			}
			if s.cfg.HideLine != nil && s.cfg.HideLine([]byte(line)) {
				return
			}
			c.filter.add(s.out.record(sp.ID, line))
		})
	})
	s.goroutine(func() {
		c.waitErr = cmd.Wait()
		children.waited(c.pid)
		c.state = cmd.ProcessState
		c.stopProbe()
		s.removeLive(sp.ID, c.pid)
		// Whatever the leader left behind, in its group or detached, goes with it.
		_ = signalGroup(c.pid, syscall.SIGKILL)
		s.killDetached(sp.ID, c.pid)
		select {
		case <-readDone:
		case <-time.After(outputGrace):
		}
		_ = out.Close()
		<-readDone
		close(c.exited)
	})
	return c, nil
}

// activate starts c's readiness probe: from now on c is the instance's child.
func (c *child) activate(s *Supervisor, sp InstanceSpec) {
	s.goroutine(func() { probe(c.probeCtx, sp, c.ready, c.logSeen) })
}
