package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
)

// fakeTargets is the supervisor and the proxy as the fault registry sees them:
// it records every call and keeps the state the calls change.
type fakeTargets struct {
	mu      sync.Mutex
	calls   []string
	pids    map[string]int
	order   []string
	weights map[string]int
	fail    map[string]error // by method name
}

func newFakeTargets(ids ...string) *fakeTargets {
	f := &fakeTargets{pids: map[string]int{}, weights: map[string]int{}, fail: map[string]error{}, order: ids}
	for i, id := range ids {
		f.pids[id], f.weights[id] = 100+i, 1
	}
	return f
}

func (f *fakeTargets) call(method, format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method+" "+fmt.Sprintf(format, args...))
	return f.fail[method]
}

func (f *fakeTargets) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeTargets) KillInstance(ctx context.Context, id string) error {
	err := f.call("kill", "%s", id)
	if err == nil {
		f.mu.Lock()
		f.pids[id] += 1000 // restarted by the policy with a new pid
		f.mu.Unlock()
	}
	return err
}

func (f *fakeTargets) PauseInstance(ctx context.Context, id string) error {
	return f.call("pause", "%s", id)
}

func (f *fakeTargets) ResumeInstance(ctx context.Context, id string) error {
	return f.call("resume", "%s", id)
}

func (f *fakeTargets) Instances() []InstancePID {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []InstancePID
	for _, id := range f.order {
		out = append(out, InstancePID{ID: id, PID: f.pids[id]})
	}
	return out
}

func (f *fakeTargets) SetDrain(id string, on bool) error { return f.call("drain", "%s %v", id, on) }
func (f *fakeTargets) SetMaint(id string, on bool) error { return f.call("maint", "%s %v", id, on) }

func (f *fakeTargets) SetWeight(id string, w int) error {
	err := f.call("weight", "%s %d", id, w)
	if err == nil {
		f.mu.Lock()
		f.weights[id] = w
		f.mu.Unlock()
	}
	return err
}

func (f *fakeTargets) Weight(id string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.weights[id]
	return w, ok
}

func (f *fakeTargets) SetFault(id string, ft control.Fault) error {
	return f.call("setfault", "%s", ft)
}

func (f *fakeTargets) ClearFault(id, kind string) { f.call("clearfault", "%s %s", id, kind) }

// fakeClock is a Clock that moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := clockWaiter{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if !w.at.After(c.now) {
		w.ch <- c.now
		return w.ch
	}
	c.waiters = append(c.waiters, w)
	return w.ch
}

// Advance moves the clock and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// WaitingFor reports whether some timer waits for time t: Run has looked at the
// expiries since the last change and sleeps until t.
func (c *fakeClock) WaitingFor(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(t) {
			return true
		}
	}
	return false
}

// runRegistry runs a registry over fakes until the test ends.
func runRegistry(t *testing.T, ids ...string) (*Faults, *fakeTargets, *fakeClock, *tstest.Buffer) {
	t.Helper()
	ft := newFakeTargets(ids...)
	clock := newFakeClock()
	var log tstest.Buffer
	r := NewFaults(ft, ft, clock, func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r, ft, clock, &log
}

func TestFaultRegistryKinds(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name      string
		f         control.Fault
		wantCalls []string
		active    bool     // listed after Set
		clearWant []string // calls made by Clear
	}{
		{"kill", control.Fault{Kind: control.FaultKill}, []string{"kill web.2"}, false, nil},
		{"pause", control.Fault{Kind: control.FaultPause}, []string{"pause web.2"}, true, []string{"resume web.2"}},
		{"resume", control.Fault{Kind: control.FaultResume}, []string{"resume web.2"}, false, nil},
		{"drain", control.Fault{Kind: control.FaultDrain}, []string{"drain web.2 true"}, true, []string{"drain web.2 false"}},
		{"maint", control.Fault{Kind: control.FaultMaint}, []string{"maint web.2 true"}, true, []string{"maint web.2 false"}},
		{"ready", control.Fault{Kind: control.FaultReady}, []string{"drain web.2 false", "maint web.2 false"}, false, nil},
		{"weight", control.Fault{Kind: control.FaultWeight, Weight: 5}, []string{"weight web.2 5"}, true, []string{"weight web.2 1"}},
		{"delay", control.Fault{Kind: control.FaultDelay, Delay: 300 * ms, Jitter: 50 * ms, Percent: 20},
			[]string{"setfault web.2 delay 300ms ±50ms on 20%"}, true, []string{"clearfault web.2 delay"}},
		{"fail", control.Fault{Kind: control.FaultFail, Percent: 50, Status: 502}, []string{"setfault web.2 fail 50% → 502"}, true, []string{"clearfault web.2 fail"}},
		{"reset", control.Fault{Kind: control.FaultReset}, []string{"setfault web.2 reset"}, true, []string{"clearfault web.2 reset"}},
		{"timeout", control.Fault{Kind: control.FaultTimeout}, []string{"setfault web.2 timeout"}, true, []string{"clearfault web.2 timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, ft, clock, _ := runRegistry(t, "web.1", "web.2")
			tt.f.Instance = "web.2"
			got, err := r.Set(context.Background(), tt.f)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if calls := ft.Calls(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("got calls %q, want %q", calls, tt.wantCalls)
			}
			list := r.List()
			switch {
			case tt.active && (len(list) != 1 || list[0].Kind != tt.f.Kind || !list[0].Since.Equal(clock.Now()) || !list[0].Until.IsZero()):
				t.Errorf("got list %+v, want the %s since now, until cleared", list, tt.f.Kind)
			case tt.active && got.Kind != tt.f.Kind:
				t.Errorf("got %+v from Set, want the active %s", got, tt.f.Kind)
			case !tt.active && (len(list) != 0 || got.Kind != ""):
				t.Errorf("got list %+v and %+v from Set, want nothing active (%s is instant)", list, got, tt.f.Kind)
			}
			cleared, err := r.Clear("web.2")
			if err != nil {
				t.Fatalf("Clear: %v", err)
			}
			if calls := ft.Calls(); !slices.Equal(calls, tt.clearWant) {
				t.Errorf("got calls %q from Clear, want %q", calls, tt.clearWant)
			}
			if tt.active != (len(cleared) == 1) {
				t.Errorf("got cleared %+v, want the active fault only", cleared)
			}
		})
	}
}

func TestFaultForRevertsByItself(t *testing.T) {
	t.Parallel()
	r, ft, clock, log := runRegistry(t, "web.1", "web.2", "web.3")
	t0 := clock.Now()
	ctx := context.Background()
	if _, err := r.Set(ctx, control.Fault{Instance: "web.3", Kind: control.FaultDelay, Delay: 300 * time.Millisecond, For: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultPause, For: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Until.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("got Until %v, want now + 5s", got.Until)
	}
	ft.Calls()

	tstest.WaitFor(t, 10*time.Second, "Run to wait for the first expiry", func() bool { return clock.WaitingFor(t0.Add(2 * time.Second)) })
	clock.Advance(time.Second)
	tstest.WaitFor(t, 10*time.Second, "Run to wait again", func() bool { return clock.WaitingFor(t0.Add(2 * time.Second)) })
	if n := len(r.List()); n != 2 {
		t.Fatalf("got %d faults 1s in, want both still active", n)
	}

	clock.Advance(time.Second)
	tstest.WaitFor(t, 10*time.Second, "the delay to revert at 2s", func() bool { return len(r.List()) == 1 })
	if calls := ft.Calls(); !slices.Equal(calls, []string{"clearfault web.3 delay"}) {
		t.Errorf("got calls %q at 2s, want the delay cleared only", calls)
	}
	if !strings.Contains(log.String(), "fault web.3 delay 300ms ended: its --for 2s is over\n") {
		t.Errorf("got log %q, want the delay's end said", log.String())
	}

	clock.Advance(3 * time.Second)
	tstest.WaitFor(t, 10*time.Second, "the pause to revert at 5s", func() bool { return len(r.List()) == 0 })
	if calls := ft.Calls(); !slices.Equal(calls, []string{"resume web.1"}) {
		t.Errorf("got calls %q at 5s, want web.1 resumed", calls)
	}
}

func TestFaultReplacedKeepsNewFor(t *testing.T) {
	t.Parallel()
	r, ft, clock, _ := runRegistry(t, "web.1")
	ctx := context.Background()
	t0 := clock.Now()
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultMaint, For: time.Second})
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultMaint}) // until cleared now
	ft.Calls()
	clock.Advance(time.Hour)
	tstest.WaitFor(t, 10*time.Second, "Run to settle", func() bool { return !clock.WaitingFor(t0.Add(time.Second)) })
	if list := r.List(); len(list) != 1 || !list[0].Until.IsZero() {
		t.Errorf("got %+v, want the second maint, until cleared", list)
	}
	if calls := ft.Calls(); len(calls) != 0 {
		t.Errorf("got calls %q, want none: the first maint's --for no longer applies", calls)
	}
}

func TestFaultWeightRestoresOriginal(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1")
	ctx := context.Background()
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultWeight, Weight: 3})
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultWeight, Weight: 5})
	r.Clear("")
	if calls := ft.Calls(); !slices.Equal(calls, []string{"weight web.1 3", "weight web.1 5", "weight web.1 1"}) {
		t.Errorf("got calls %q, want 3, 5, then the original 1 back", calls)
	}
}

func TestFaultClearOneOrAll(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1", "web.2", "web.3")
	ctx := context.Background()
	for _, f := range []control.Fault{
		{Instance: "web.3", Kind: control.FaultDelay, Delay: time.Second},
		{Instance: "web.1", Kind: control.FaultFail},
		{Instance: "web.1", Kind: control.FaultPause},
		{Instance: "web.2", Kind: control.FaultDrain},
	} {
		if _, err := r.Set(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range r.List() {
		got = append(got, f.String())
	}
	want := []string{"web.1 pause", "web.1 fail 100% → 503", "web.2 drain", "web.3 delay 1s"}
	if !slices.Equal(got, want) {
		t.Errorf("got list %q, want %q (instance order, then kind order)", got, want)
	}
	ft.Calls()
	cleared, err := r.Clear("web.1")
	if err != nil || len(cleared) != 2 {
		t.Fatalf("got %+v, %v; want web.1's two faults cleared", cleared, err)
	}
	if calls := ft.Calls(); !slices.Equal(calls, []string{"resume web.1", "clearfault web.1 fail"}) {
		t.Errorf("got calls %q, want web.1 resumed and its fail cleared", calls)
	}
	cleared, err = r.Clear("")
	if err != nil || len(cleared) != 2 || len(r.List()) != 0 {
		t.Errorf("got %+v, %v, then %+v; want the other two cleared and none left", cleared, err, r.List())
	}
	if _, err := r.Clear("web.9"); err == nil || err.Error() != `unknown instance "web.9" (instances: web.1, web.2, web.3)` {
		t.Errorf("got %v, want the unknown instance named with the known ones", err)
	}
}

func TestFaultRefusals(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1")
	ft.fail["setfault"] = errors.New("set fault: no instance \"web.1\" in the balancer (it is enabled once it is ready)")
	ft.fail["pause"] = errors.New("pause web.1: it is stopped, so there is no process to pause")
	tests := []struct {
		f        control.Fault
		wantCode int
		wantMsg  string
	}{
		{control.Fault{Instance: "web.9", Kind: control.FaultPause}, 404, `unknown instance "web.9" (instances: web.1)`},
		{control.Fault{Instance: "web.1", Kind: control.FaultDelay}, 400, "delay must be above 0 and at most 1h0m0s, got 0s"},
		{control.Fault{Instance: "web.1", Kind: control.FaultTimeout}, 409, `timeout web.1: set fault: no instance "web.1" in the balancer (it is enabled once it is ready)`},
		{control.Fault{Instance: "web.1", Kind: control.FaultPause}, 409, "pause web.1: it is stopped, so there is no process to pause"},
	}
	for _, tt := range tests {
		_, err := r.Set(context.Background(), tt.f)
		var ce *control.Error
		if !errors.As(err, &ce) || ce.Code != tt.wantCode || ce.Msg != tt.wantMsg {
			t.Errorf("%s: got %v, want %d %q", tt.f, err, tt.wantCode, tt.wantMsg)
		}
	}
	if list := r.List(); len(list) != 0 {
		t.Errorf("got %+v, want no fault recorded after refusals", list)
	}
}

func TestFaultPauseForgottenWhenProcessReplaced(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1")
	ctx := context.Background()
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultPause})
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultKill})
	if list := r.List(); len(list) != 0 {
		t.Errorf("got %+v after kill, want the pause gone with its process", list)
	}
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultPause})
	ft.mu.Lock()
	ft.pids["web.1"]++ // restarted some other way (devcluster restart)
	ft.mu.Unlock()
	if list := r.List(); len(list) != 0 {
		t.Errorf("got %+v after a restart, want the pause forgotten", list)
	}
	ft.Calls()
	r.Clear("")
	if calls := ft.Calls(); len(calls) != 0 {
		t.Errorf("got calls %q, want no resume of a process that is gone", calls)
	}
}

func TestFaultRunEndClearsAndRefuses(t *testing.T) {
	t.Parallel()
	ft := newFakeTargets("web.1")
	r := NewFaults(ft, ft, newFakeClock(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	r.Set(context.Background(), control.Fault{Instance: "web.1", Kind: control.FaultPause})
	ft.Calls()
	cancel()
	<-done
	if calls := ft.Calls(); !slices.Equal(calls, []string{"resume web.1"}) {
		t.Errorf("got calls %q as Run ended, want the paused instance resumed (else it ignores the stop signal)", calls)
	}
	if _, err := r.Set(context.Background(), control.Fault{Instance: "web.1", Kind: control.FaultPause}); err != errFaultsStopped {
		t.Errorf("got %v after Run, want %v", err, errFaultsStopped)
	}
}

func TestFaultOfInstanceScaledAwayCleared(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1", "web.2")
	ctx := context.Background()
	r.Set(ctx, control.Fault{Instance: "web.2", Kind: control.FaultDelay, Delay: time.Second})
	r.Set(ctx, control.Fault{Instance: "web.2", Kind: control.FaultMaint})
	ft.Calls()
	ft.mu.Lock()
	ft.order = ft.order[:1] // scale web=1
	ft.mu.Unlock()
	if list := r.List(); len(list) != 0 {
		t.Errorf("got %+v, want web.2's faults forgotten", list)
	}
	if calls := ft.Calls(); !slices.Equal(calls, []string{"clearfault web.2 delay"}) {
		t.Errorf("got calls %q, want the proxy's delay cleared (it outlives restarts, so a new web.2 would inherit it)", calls)
	}
}

// TestFaultWeightBackToOriginalNotListed: "fault weight web.1 1" on an instance
// whose weight was 1 (or back to it after weight 3) was listed as a fault that
// changes nothing.
func TestFaultWeightBackToOriginalNotListed(t *testing.T) {
	t.Parallel()
	r, ft, _, _ := runRegistry(t, "web.1")
	ctx := context.Background()
	if _, err := r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultWeight, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if list := r.List(); len(list) != 0 {
		t.Errorf("weight 1 on a weight-1 instance: got faults %+v, want none", list)
	}
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultWeight, Weight: 3})
	r.Set(ctx, control.Fault{Instance: "web.1", Kind: control.FaultWeight, Weight: 1})
	if list := r.List(); len(list) != 0 {
		t.Errorf("weight 3 then 1: got faults %+v, want none", list)
	}
	r.Clear("")
	if calls := ft.Calls(); !slices.Equal(calls, []string{"weight web.1 1", "weight web.1 3", "weight web.1 1"}) {
		t.Errorf("got calls %q, want 1, 3, 1 and nothing on clear", calls)
	}
}
