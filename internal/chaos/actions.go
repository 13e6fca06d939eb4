package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The chaos actions. Each one waits until its effect is over (the killed instance is
// back, the pause ended, every instance serves the new code, the new count is ready),
// so that every failed request can be told apart by what was happening at the time.
const (
	Kill    = "kill"
	Pause   = "pause"
	Reload  = "reload"
	Scale   = "scale"
	Restart = "restart"
)

// Actions lists the chaos actions, in the order the report prints them.
func Actions() []string { return []string{Kill, Pause, Reload, Scale, Restart} }

// settleTimeout bounds every wait for the cluster to be whole again after an action.
const settleTimeout = 30 * time.Second

// maxActions bounds the chaos loop by count as well as by time.
const maxActions = 10_000

// event is one chaos action as it happened.
type event struct {
	kind     string
	target   string    // "web.2", "web=4", "chaos-3"
	pid      int       // the victim's pid (kill, pause, restart)
	start    time.Time // kill: the SIGKILL; pause: the SIGSTOP
	end      time.Time // kill: = start; pause: the SIGCONT; others: the action's end
	done     time.Time // the action's end: the cluster whole again
	inFlight int64     // kill: client requests in flight at the SIGKILL
	active   int64     // kill, pause: the victim's requests in flight per ps just before (-1: unknown)
	err      string    // the action failed, or its effect never came
}

// chaosLoop owns the cluster's shape while the load runs: one action at a time.
type chaosLoop struct {
	cfg      *Config
	cl       *cluster
	ld       *load
	rng      *rand.Rand
	count    int // web instances the cluster should have
	version  int
	events   []event
	done     map[string]int // actions done without error, by kind
	problems []string
}

func (c *chaosLoop) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.problems = append(c.problems, msg)
	c.cfg.logf("PROBLEM: %s", msg)
}

// run does one action after another, with a random 0.3-1.2 s of plain load between
// them, until enough says so and every kind of action has been done once. The first
// ones are the configured actions in a random order, so that even a short soak does
// each one.
func (c *chaosLoop) run(ctx context.Context, enough func() bool) {
	c.done = map[string]int{}
	done := func() bool {
		for _, a := range c.cfg.Actions {
			if c.done[a] == 0 {
				return c.cfg.overtime()
			}
		}
		return enough()
	}
	order := slices.Clone(c.cfg.Actions)
	c.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i := 0; i < maxActions && !done() && ctx.Err() == nil; i++ {
		kind := order[c.rng.IntN(len(order))]
		if i < len(order) {
			kind = order[i]
		}
		if err := c.cl.settle(ctx, c.count, settleTimeout); err != nil {
			c.problem("before %s: the cluster is not whole: %v", kind, err)
			return
		}
		c.act(ctx, kind)
		c.gap(ctx, 300*time.Millisecond+time.Duration(c.rng.Int64N(int64(900*time.Millisecond))))
	}
}

// gap is load without chaos: the time between two actions.
func (c *chaosLoop) gap(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *chaosLoop) act(ctx context.Context, kind string) {
	began := time.Now()
	var ev event
	switch kind {
	case Kill:
		ev = c.kill(ctx)
	case Pause:
		ev = c.pause(ctx)
	case Reload:
		ev = c.reload(ctx)
	case Scale:
		ev = c.scale(ctx)
	case Restart:
		ev = c.restart(ctx)
	}
	ev.kind = kind
	ev.done = time.Now()
	if ev.end.IsZero() {
		ev.end = ev.done
	}
	c.events = append(c.events, ev)
	if ev.err != "" {
		c.problem("%s %s: %s", kind, ev.target, ev.err)
		return
	}
	c.done[kind]++
	c.cfg.logf("%-7s %-8s done in %s", kind, ev.target, time.Since(began).Round(time.Millisecond))
}

// victim picks a random instance of those in rotation. Kill and pause need one more in
// rotation than the victim, or the cluster would have nothing left to serve with; the
// settle before every action makes sure of it (web is never below 2).
func (c *chaosLoop) victim(ctx context.Context) (instance, error) {
	st, err := c.cl.ps(ctx)
	if err != nil {
		return instance{}, err
	}
	var up []instance
	for _, in := range st.Instances {
		if in.inRotation() {
			up = append(up, in)
		}
	}
	if len(up) < 2 {
		return instance{}, fmt.Errorf("fewer than 2 instances in rotation (%s)", describe(st))
	}
	return up[c.rng.IntN(len(up))], nil
}

// kill SIGKILLs one instance's process (a crash) and waits until devcluster has
// restarted it: the same instance ready again with a new pid.
func (c *chaosLoop) kill(ctx context.Context) event {
	v, err := c.victim(ctx)
	if err != nil {
		return event{start: time.Now(), err: err.Error()}
	}
	ev := event{target: v.ID, pid: v.PID, active: v.active()}
	ev.inFlight = c.ld.inFlight.Load()
	ev.start = time.Now()
	ev.end = ev.start
	if err := syscall.Kill(v.PID, syscall.SIGKILL); err != nil {
		ev.err = fmt.Sprintf("SIGKILL pid %d: %v", v.PID, err)
		return ev
	}
	_, err = c.cl.waitPS(ctx, settleTimeout, func(st status) bool {
		for _, in := range st.Instances {
			if in.ID == v.ID {
				return in.inRotation() && in.PID != v.PID
			}
		}
		return false
	})
	if err != nil {
		ev.err = fmt.Sprintf("not back with a new pid after SIGKILL of pid %d: %v", v.PID, err)
	}
	return ev
}

// pause stops one instance's whole process group for 2-5 s (a hung app) and resumes
// it. The SIGCONT is deferred: whatever happens, nothing stays stopped.
func (c *chaosLoop) pause(ctx context.Context) event {
	v, err := c.victim(ctx)
	if err != nil {
		return event{start: time.Now(), err: err.Error()}
	}
	ev := event{target: v.ID, pid: v.PID, active: v.active()}
	pgid, err := syscall.Getpgid(v.PID)
	if err != nil || pgid == syscall.Getpgrp() || pgid <= 1 {
		ev.start = time.Now()
		ev.err = fmt.Sprintf("no process group of its own to stop (pid %d, pgid %d: %v)", v.PID, pgid, err)
		return ev
	}
	d := 2*time.Second + time.Duration(c.rng.Int64N(int64(3*time.Second)))
	ev.start = time.Now()
	if err := syscall.Kill(-pgid, syscall.SIGSTOP); err != nil {
		ev.err = fmt.Sprintf("SIGSTOP process group %d: %v", pgid, err)
		return ev
	}
	defer syscall.Kill(-pgid, syscall.SIGCONT)
	c.cfg.logf("pause   %-8s SIGSTOP of process group %d for %s", v.ID, pgid, d.Round(time.Millisecond))
	c.gap(ctx, d)
	if err := syscall.Kill(-pgid, syscall.SIGCONT); err != nil {
		ev.err = fmt.Sprintf("SIGCONT process group %d: %v", pgid, err)
	}
	ev.end = time.Now()
	return ev
}

// reload saves app.py with a new VERSION, as an editor does (write a temporary file,
// rename it over), and waits until every instance answers with it on its own port.
func (c *chaosLoop) reload(ctx context.Context) event {
	c.version++
	v := "chaos-" + strconv.Itoa(c.version)
	ev := event{target: v, start: time.Now()}
	path := filepath.Join(c.cfg.appDir(), "app.py")
	src, err := os.ReadFile(path)
	if err == nil {
		src = versionLine.ReplaceAll(src, []byte(`VERSION = "`+v+`"`))
		tmp := path + ".chaos~"
		if err = os.WriteFile(tmp, src, 0o644); err == nil {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		ev.err = "save app.py: " + err.Error()
		return ev
	}
	var last string
	_, err = c.cl.waitPS(ctx, settleTimeout, func(st status) bool {
		if len(st.Instances) != c.count {
			return false
		}
		for _, in := range st.Instances {
			body, _, err := get(ctx, "http://127.0.0.1:"+strconv.Itoa(in.Port)+"/")
			if err != nil || !strings.Contains(body, v) {
				last = fmt.Sprintf("%s answers %q (%v)", in.ID, firstLine(body), err)
				return false
			}
		}
		return true
	})
	if err != nil {
		ev.err = fmt.Sprintf("not every instance serves %s: %s; %v", v, last, err)
	}
	return ev
}

// scale runs `devcluster scale web=N` for a random N in 2-5 other than the current count
// and waits until exactly N instances are in rotation.
func (c *chaosLoop) scale(ctx context.Context) event {
	n := 2 + c.rng.IntN(3)
	if n >= c.count {
		n++
	}
	ev := event{target: "web=" + strconv.Itoa(n), start: time.Now()}
	if _, err := c.cl.run(ctx, "scale", ev.target); err != nil {
		ev.err = err.Error()
		return ev
	}
	c.count = n
	if err := c.cl.settle(ctx, n, settleTimeout); err != nil {
		ev.err = err.Error()
	}
	return ev
}

// restart runs `devcluster restart web.K` for a random instance and waits until it is
// in rotation again with a new pid.
func (c *chaosLoop) restart(ctx context.Context) event {
	v, err := c.victim(ctx)
	if err != nil {
		return event{start: time.Now(), err: err.Error()}
	}
	ev := event{target: v.ID, pid: v.PID, start: time.Now()}
	if _, err := c.cl.run(ctx, "restart", v.ID); err != nil {
		ev.err = err.Error()
		return ev
	}
	_, err = c.cl.waitPS(ctx, settleTimeout, func(st status) bool {
		for _, in := range st.Instances {
			if in.ID == v.ID {
				return in.inRotation() && in.PID != v.PID
			}
		}
		return false
	})
	if err != nil {
		ev.err = fmt.Sprintf("not back with a new pid: %v", err)
	}
	return ev
}
