package supervisor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// testSeed is the seed of a randomized test: DEVCLUSTER_TEST_SEED when set (to
// repeat a failed run), else a new one. It is printed either way.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DEVCLUSTER_TEST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DEVCLUSTER_TEST_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("seed %d (DEVCLUSTER_TEST_SEED=%d repeats this run)", seed, seed)
	return seed
}

// TestLifecycleTransitions drives the one transition function through the
// event sequences the instance's goroutine produces, and checks the state and
// pid each ends in.
func TestLifecycleTransitions(t *testing.T) {
	t.Parallel()
	spawned := event{kind: evSpawned, pid: 7}
	tests := []struct {
		name    string
		events  []event
		state   string
		pid     int
		extra   func(l lifecycle) string // "" when the rest is right
		initial string                   // "" → stopped
	}{
		{"new", nil, StateStopped, 0, nil, ""},
		{"spawned", []event{spawned}, StateStarting, 7, nil, ""},
		{"ready", []event{spawned, {kind: evReady}}, StateReady, 7, nil, ""},
		{"ready without a child stays", []event{{kind: evReady}}, StateStopped, 0, nil, ""},
		{"running: no readiness rule", []event{spawned, {kind: evReady, running: true}}, StateRunning, 7, nil, ""},
		{"waiting for its dependencies", []event{{kind: evWaiting}}, StateWaiting, 0, nil, ""},
		{"waiting, then started", []event{{kind: evWaiting}, spawned}, StateStarting, 7, nil, ""},
		{"waiting never with a child", []event{spawned, {kind: evWaiting}}, StateStarting, 7, nil, ""},
		{"crash", []event{spawned, {kind: evReady}, {kind: evExited, exit: "signal: killed"}}, StateDown, 0,
			func(l lifecycle) string {
				if l.lastExit != "signal: killed" || l.planned {
					return fmt.Sprintf("last exit %q planned %v, want signal: killed, not planned", l.lastExit, l.planned)
				}
				return ""
			}, ""},
		{"crash then retry", []event{spawned, {kind: evExited}, {kind: evRetry, failures: 1}}, StateDown, 0, nil, ""},
		{"crash-looping", []event{spawned, {kind: evExited}, {kind: evRetry, failures: crashLoopAfter}}, StateCrashLooping, 0, nil, ""},
		{"crash-looping stays so while its next child starts",
			[]event{{kind: evSpawned, pid: 9, failures: crashLoopAfter}}, StateCrashLooping, 9, nil, StateCrashLooping},
		{"crash-looping until ready",
			[]event{{kind: evSpawned, pid: 9, failures: crashLoopAfter}, {kind: evReady}}, StateReady, 9, nil, StateCrashLooping},
		{"a start asked for leaves crash-looping",
			[]event{{kind: evSpawned, pid: 9, failures: 0, planned: true}}, StateStarting, 9, nil, StateCrashLooping},
		{"restart policy never", []event{spawned, {kind: evExited}, {kind: evGaveUp}}, StateDown, 0, nil, ""},
		{"drain", []event{spawned, {kind: evReady}, {kind: evDraining}}, StateDraining, 7, nil, ""},
		{"drain without a child stays", []event{{kind: evDraining}}, StateStopped, 0, nil, ""},
		{"stop signal", []event{spawned, {kind: evReady}, {kind: evDraining}, {kind: evStopping}}, StateStopping, 7, nil, ""},
		{"reaped by a stop", []event{spawned, {kind: evStopping}, {kind: evReaped, planned: true, exit: "signal: terminated"}}, StateStopping, 0,
			func(l lifecycle) string {
				if !l.planned || l.lastExit != "signal: terminated" {
					return fmt.Sprintf("last exit %q planned %v, want signal: terminated, planned", l.lastExit, l.planned)
				}
				return ""
			}, ""},
		{"stopped", []event{spawned, {kind: evStopping}, {kind: evReaped, planned: true}, {kind: evStopped}}, StateStopped, 0, nil, ""},
		{"stopped with a child stays", []event{spawned, {kind: evStopped}}, StateStarting, 7, nil, ""},
		{"restarted: a new child", []event{spawned, {kind: evReady}, {kind: evStopping}, {kind: evReaped, planned: true},
			{kind: evGeneration, gen: 2}, {kind: evSpawned, pid: 8, planned: true}}, StateStarting, 8,
			func(l lifecycle) string {
				if l.reloads != 1 || l.restarts != 0 || l.gen != 2 {
					return fmt.Sprintf("reloads %d restarts %d gen %d, want 1, 0, 2", l.reloads, l.restarts, l.gen)
				}
				return ""
			}, ""},
		{"restarted after a crash counts a restart", []event{spawned, {kind: evExited}, {kind: evRetry, failures: 1},
			{kind: evSpawnFailed}, {kind: evRetry, failures: 2}, {kind: evSpawned, pid: 8}}, StateStarting, 8,
			func(l lifecycle) string {
				if l.restarts != 2 || l.reloads != 0 {
					return fmt.Sprintf("restarts %d reloads %d, want 2, 0", l.restarts, l.reloads)
				}
				return ""
			}, ""},
		{"paused", []event{spawned, {kind: evReady}, {kind: evPaused}}, StateReady, 7,
			func(l lifecycle) string {
				if !l.paused || l.pausedSince.IsZero() {
					return "not paused"
				}
				return ""
			}, ""},
		{"a crash ends the pause", []event{spawned, {kind: evPaused}, {kind: evExited}}, StateDown, 0,
			func(l lifecycle) string {
				if l.paused {
					return "still paused"
				}
				return ""
			}, ""},
		{"no pause without a child", []event{{kind: evPaused}}, StateStopped, 0,
			func(l lifecycle) string {
				if l.paused {
					return "paused"
				}
				return ""
			}, ""},
		{"standby warm, then taken", []event{spawned, {kind: evReady}, {kind: evStandbyWarm, pid: 11}}, StateReady, 7,
			func(l lifecycle) string {
				if l.standbyPID != 11 {
					return fmt.Sprintf("standby pid %d, want 11", l.standbyPID)
				}
				return ""
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			l := newLifecycle(t0, 1)
			if tt.initial != "" {
				l.state = tt.initial
			}
			for i, ev := range tt.events {
				l.apply(ev, t0.Add(time.Duration(i+1)*time.Second))
			}
			if l.state != tt.state || l.pid != tt.pid {
				t.Errorf("got state %s pid %d, want %s pid %d", l.state, l.pid, tt.state, tt.pid)
			}
			if tt.extra != nil {
				if why := tt.extra(l); why != "" {
					t.Error(why)
				}
			}
			if why := l.status(InstanceSpec{ID: "web.1"}).inconsistency(); why != "" {
				t.Errorf("status is inconsistent: %s", why)
			}
		})
	}
}

// randomEvent is any event, in any order, with fields that may not fit.
func randomEvent(r *rand.Rand) event {
	return event{
		kind:     eventKind(r.IntN(int(evWaiting) + 1)),
		pid:      r.IntN(4), // 0 included: a broken event must not break the status
		planned:  r.IntN(2) == 0,
		exit:     []string{"", "exit status 1", "signal: killed"}[r.IntN(3)],
		failures: r.IntN(crashLoopAfter + 2),
		gen:      r.IntN(5),
		running:  r.IntN(2) == 0,
	}
}

// TestLifecycleNeverInconsistent applies random event sequences to a lifecycle
// and checks every status it derives: never ready (or starting, draining)
// without a pid, never down or stopped with one, never paused without a
// process, Since moved only when the state changed, and the start counters
// adding up.
func TestLifecycleNeverInconsistent(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for seq := range 2000 {
		now := time.Unix(1000, 0)
		l := newLifecycle(now, 1)
		prev := l.status(InstanceSpec{ID: "web.1"})
		var events []event
		for range 1 + r.IntN(40) {
			ev := randomEvent(r)
			events = append(events, ev)
			now = now.Add(time.Second)
			l.apply(ev, now)
			st := l.status(InstanceSpec{ID: "web.1"})
			why := st.inconsistency()
			switch {
			case why != "":
			case !slices.Contains(StateNames(), st.State):
				why = "unknown state " + st.State
			case st.State == prev.State && !st.Since.Equal(prev.Since):
				why = "Since moved without a state change"
			case st.State != prev.State && !st.Since.Equal(now):
				why = "the state changed but Since did not"
			case l.attempts > 0 && st.Restarts+st.Reloads != l.attempts-1:
				why = fmt.Sprintf("%d restarts + %d reloads for %d attempts", st.Restarts, st.Reloads, l.attempts)
			}
			if why != "" {
				t.Fatalf("sequence %d: after %v: %s: %+v", seq, events, why, st)
			}
			prev = st
		}
	}
}

// TestPublishedStatusNeverInconsistent runs random faults and commands (kill,
// pause, resume, stop, start, restart, a SIGKILL from outside) against two real
// instances and checks every status they commit, not a sample of them.
func TestPublishedStatusNeverInconsistent(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		helperSpec(tag, "web.1", freePort(t), "serve"),
		helperSpec(tag, "web.2", freePort(t), "serve"),
	}})
	c.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var done []string
	for range 30 {
		id := fmt.Sprintf("web.%d", 1+r.IntN(2))
		var op string
		var err error
		switch r.IntN(7) {
		case 0:
			op, err = "kill", c.s.KillInstance(ctx, id)
		case 1:
			op, err = "pause", c.s.PauseInstance(ctx, id)
		case 2:
			op, err = "resume", c.s.ResumeInstance(ctx, id)
		case 3:
			op, err = "stop", c.s.StopInstance(ctx, id)
		case 4:
			op, err = "start", c.s.StartInstance(ctx, id)
		case 5:
			op, err = "restart", c.s.Restart(ctx, id)
		case 6:
			op = "SIGKILL"
			if pid := c.status(id).PID; pid > 0 {
				err = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		done = append(done, op+" "+id)
		if ctx.Err() != nil {
			t.Fatalf("the operations did not end within 60s: %v (last error %v)", done, err)
		}
	}
	var states []string
	for _, id := range []string{"web.1", "web.2"} {
		list := c.commits.of(id)
		for _, st := range list {
			if why := st.inconsistency(); why != "" {
				t.Errorf("after %v, %s committed %+v: %s", done, id, st, why)
			}
			if !slices.Contains(states, st.State) {
				states = append(states, st.State)
			}
		}
	}
	// The sequence did something: the instances went through more than ready.
	if len(states) < 3 {
		t.Errorf("committed states %v after %v: want at least three different ones", states, done)
	}
}
