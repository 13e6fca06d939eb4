package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// holdBalancer holds every Enable while hold is set, until the test releases it:
// an instance's restart ends with its Enable, so the test sees which instances a
// roll has out at once, with no timing involved.
type holdBalancer struct {
	*fakeBalancer
	hold    atomic.Bool
	entered chan string
	release chan struct{}
}

// newHoldBalancer returns a holdBalancer that lets every Enable through until
// hold is set.
func newHoldBalancer() *holdBalancer {
	return &holdBalancer{fakeBalancer: newFakeBalancer(), entered: make(chan string, 64), release: make(chan struct{})}
}

// letAllGo, as a cleanup registered after startCluster's (cleanups run last
// first), lets the held Enables go so that the cluster can stop after a failure.
func (h *holdBalancer) letAllGo() {
	h.hold.Store(false)
	close(h.release)
}

func (h *holdBalancer) Enable(process, id, addr string) {
	if h.hold.Load() {
		h.entered <- id
		<-h.release
	}
	h.fakeBalancer.Enable(process, id, addr)
}

// expect waits until exactly ids (in any order) are held in Enable, then
// releases them.
func (h *holdBalancer) expect(t *testing.T, ids ...string) {
	t.Helper()
	h.await(t, ids...)
	h.let(len(ids))
}

// let releases n held Enables.
func (h *holdBalancer) let(n int) {
	for range n {
		h.release <- struct{}{}
	}
}

// await waits until exactly ids (in any order) are held in Enable.
func (h *holdBalancer) await(t *testing.T, ids ...string) {
	t.Helper()
	var got []string
	deadline := time.After(20 * time.Second)
	for range ids {
		select {
		case id := <-h.entered:
			got = append(got, id)
		case <-deadline:
			ev, _ := h.snapshot()
			t.Fatalf("instances held in Enable: got %v within 20s, want %v (balancer events %v)", got, ids, ev)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Fatalf("instances held in Enable: got %v, want %v", got, want)
	}
}

// drained lists the instances drained so far, in order.
func (h *holdBalancer) drained() []string {
	ev, _ := h.snapshot()
	var ids []string
	for _, e := range ev {
		if id, ok := strings.CutPrefix(e, "drain "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// waveCluster starts n "serve" instances of web with max_unavailable maxUnavailable
// behind a holdBalancer, ready, with the balancer's marks reset and hold set.
func waveCluster(t *testing.T, n, maxUnavailable int, extraEnv ...string) (*cluster, *holdBalancer) {
	t.Helper()
	tag := newTag(t)
	h := newHoldBalancer()
	var specs []InstanceSpec
	for i := 1; i <= n; i++ {
		sp := helperSpec(tag, fmt.Sprintf("web.%d", i), freePort(t), "serve", extraEnv...)
		sp.MaxUnavailable = maxUnavailable
		specs = append(specs, sp)
	}
	c := startCluster(t, tag, Config{Specs: specs, Balancer: h})
	t.Cleanup(h.letAllGo)
	c.waitReady()
	h.reset()
	h.hold.Store(true)
	return c, h
}

func TestReloadRollsInWaves(t *testing.T) {
	t.Parallel()
	c, h := waveCluster(t, 5, 2)
	before := c.s.Status()
	errc := make(chan error, 1)
	go func() { errc <- c.s.Reload(context.Background(), "web") }()

	steps := [][]string{{"web.1"}, {"web.2", "web.3"}, {"web.4", "web.5"}}
	var out []string
	for _, wave := range steps {
		// Once every instance of the wave waits in Enable, the wave is out
		// together and nothing after it has been touched.
		h.await(t, wave...)
		out = append(out, wave...)
		if got := h.drained(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(out))) {
			t.Errorf("drained by the end of wave %v: got %v, want %v", wave, got, out)
		}
		h.let(len(wave))
	}
	if err := <-errc; err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if _, maxOut := h.snapshot(); maxOut != 2 {
		t.Errorf("instances out of rotation at once: got %d, want 2", maxOut)
	}
	if got := h.minInRotation(); got != 3 {
		t.Errorf("fewest instances in rotation: got %d, want 3", got)
	}
	for i, st := range c.s.Status() {
		if st.PID == before[i].PID || st.Generation != 2 || st.State != StateReady || st.Reloads != 1 {
			t.Errorf("%s: got pid %d (was %d) generation %d state %s reloads %d, want a new pid, 2, ready, 1",
				st.ID, st.PID, before[i].PID, st.Generation, st.State, st.Reloads)
		}
	}
}

// TestWaveLargerThanProcessKeepsOneInRotation: with max_unavailable above the
// number of instances, everything after the canary rolls at once, but the
// canary, back in rotation, serves meanwhile.
func TestWaveLargerThanProcessKeepsOneInRotation(t *testing.T) {
	t.Parallel()
	c, h := waveCluster(t, 3, 10)
	errc := make(chan error, 1)
	go func() { errc <- c.s.Reload(context.Background(), "web") }()
	h.expect(t, "web.1")
	h.expect(t, "web.2", "web.3")
	if err := <-errc; err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := h.minInRotation(); got != 1 {
		t.Errorf("fewest instances in rotation: got %d, want 1", got)
	}
	for _, st := range c.s.Status() {
		if st.Generation != 2 || st.State != StateReady {
			t.Errorf("%s: got generation %d state %s, want 2, ready", st.ID, st.Generation, st.State)
		}
	}
}

func TestCanaryFailureStopsWaves(t *testing.T) {
	t.Parallel()
	broken := filepath.Join(t.TempDir(), "broken")
	c, h := waveCluster(t, 4, 3, "HELPER_BROKEN_FILE="+broken)
	h.hold.Store(false)
	before := c.s.Status()
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := c.s.Reload(context.Background(), "web")
	if want := "web.1 did not become ready: exited with status 1"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Reload: got %v, want an error containing %q", err, want)
	}
	if got := h.drained(); !slices.Equal(got, []string{"web.1"}) {
		t.Errorf("drained: got %v, want only the canary web.1", got)
	}
	for _, st := range c.s.Status()[1:] {
		if b := before[st.Index-1]; st.PID != b.PID || st.Generation != 1 || st.State != StateReady {
			t.Errorf("%s: got pid %d generation %d state %s, want untouched (pid %d, 1, ready)",
				st.ID, st.PID, st.Generation, st.State, b.PID)
		}
	}
}

// TestWaveFailureStopsRoll: an instance after the canary that fails (its own
// broken file: a port clash, a per-instance setting) stops the roll after its
// wave; the later waves keep the previous version.
func TestWaveFailureStopsRoll(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	broken := filepath.Join(t.TempDir(), "broken")
	var specs []InstanceSpec
	for i := 1; i <= 5; i++ {
		var env []string
		if i == 3 {
			env = append(env, "HELPER_BROKEN_FILE="+broken)
		}
		sp := helperSpec(tag, fmt.Sprintf("web.%d", i), freePort(t), "serve", env...)
		sp.MaxUnavailable = 2
		specs = append(specs, sp)
	}
	c := startCluster(t, tag, Config{Specs: specs})
	c.waitReady()
	before := c.s.Status()
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := c.s.Reload(context.Background(), "web")
	if want := "web.3 did not become ready"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Reload: got %v, want an error containing %q", err, want)
	}
	want := "web.3 failed to start the new code; web.4, web.5 still serve the previous version."
	if !strings.Contains(c.log.String(), want) {
		t.Errorf("log: got %q, want it to contain %q", c.log.String(), want)
	}
	for _, st := range c.s.Status() {
		b := before[st.Index-1]
		switch st.ID {
		case "web.1", "web.2":
			if st.PID == b.PID || st.Generation != 2 || st.State != StateReady {
				t.Errorf("%s: got pid %d (was %d) generation %d state %s, want rolled (new pid, 2, ready)",
					st.ID, st.PID, b.PID, st.Generation, st.State)
			}
		case "web.4", "web.5":
			if st.PID != b.PID || st.Generation != 1 || st.State != StateReady {
				t.Errorf("%s: got pid %d generation %d state %s, want untouched (pid %d, 1, ready)",
					st.ID, st.PID, st.Generation, st.State, b.PID)
			}
		}
	}
}

// TestNewReloadSupersedesRollingWaves: a save during a wave lets that wave
// finish, then starts over from the canary; the instances the first roll had not
// reached are rolled once, and never two waves are out at once.
func TestNewReloadSupersedesRollingWaves(t *testing.T) {
	t.Parallel()
	c, h := waveCluster(t, 5, 2)
	first := make(chan error, 1)
	go func() { first <- c.s.Reload(context.Background(), "web") }()
	h.expect(t, "web.1")
	// The first wave after the canary is out (both held in Enable) when the
	// second Reload comes.
	h.await(t, "web.2", "web.3")
	second := make(chan error, 1)
	go func() { second <- c.s.Reload(context.Background(), "web") }()
	tstest.WaitFor(t, 10*time.Second, "the second roll to cancel the first", func() bool {
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		return c.s.gens["web"] == 3
	})
	h.let(2)
	if err := <-first; err == nil || !strings.Contains(err.Error(), "superseded") {
		t.Errorf("first Reload: got %v, want superseded", err)
	}
	h.expect(t, "web.1")
	h.expect(t, "web.2", "web.3")
	h.expect(t, "web.4", "web.5")
	if err := <-second; err != nil {
		t.Fatalf("second Reload: %v", err)
	}
	want := []string{"web.1", "web.2", "web.3", "web.1", "web.2", "web.3", "web.4", "web.5"}
	got := h.drained()
	if len(got) == len(want) {
		// Within a wave the order is the scheduler's.
		slices.Sort(got[1:3])
		slices.Sort(got[4:6])
		slices.Sort(got[6:8])
	}
	if !slices.Equal(got, want) {
		t.Errorf("drained: got %v, want %v", got, want)
	}
	if _, maxOut := h.snapshot(); maxOut != 2 {
		t.Errorf("instances out of rotation at once: got %d, want 2", maxOut)
	}
	for _, st := range c.s.Status() {
		if st.Generation != 3 || st.State != StateReady {
			t.Errorf("%s: got generation %d state %s, want 3, ready", st.ID, st.Generation, st.State)
		}
	}
}

func TestWaveSize(t *testing.T) {
	t.Parallel()
	const r, d, p = StateReady, StateDown, "paused" // p: ready but paused
	tests := []struct {
		name    string
		states  []string // web.1, web.2, ...
		pending int      // the last pending instances are still to roll
		max     int
		want    int
	}{
		{"waves of max", []string{r, r, r, r, r}, 4, 2, 2},
		{"the last wave is what is left", []string{r, r, r, r}, 1, 2, 1},
		{"the rolled canary serves", []string{r, r, r}, 2, 10, 2},
		{"no one serves outside: one left in", []string{d, r, r}, 2, 2, 1},
		{"one serves outside the wave", []string{d, r, r, r}, 3, 2, 2},
		{"a wave of down instances takes nothing out", []string{d, d, d}, 2, 2, 2},
		{"the only serving one goes alone", []string{d, r}, 1, 3, 1},
		{"keep one of three", []string{d, r, r, r}, 3, 3, 2},
		{"a paused instance does not serve", []string{p, r, r}, 2, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var specs []InstanceSpec
			for i := range tt.states {
				specs = append(specs, InstanceSpec{Process: "web", Index: i + 1, Command: "x", MaxUnavailable: tt.max})
			}
			s, err := New(Config{Specs: specs})
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range s.instances {
				in.mu.Lock()
				st := &in.status
				st.State, st.Paused = tt.states[i], tt.states[i] == p
				if st.Paused {
					st.State = StateReady
				}
				in.mu.Unlock()
			}
			if got := s.waveSize("web", s.instances[len(s.instances)-tt.pending:]); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNewRejectsNegativeMaxUnavailable(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Specs: []InstanceSpec{{Process: "web", Index: 1, Command: "x", MaxUnavailable: -1}}})
	if want := "instance web.1: max_unavailable -1: want 1 or more (0 means 1)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestWaveSizeFollowsScale: a max_unavailable given as a share of the instances
// (MaxUnavailableFor) is taken of the instances the process has when it rolls,
// not when it started: 50% of 2 is 1, and after a scale to 6 it is 3. (It was
// resolved once at start, so the 6 instances rolled one at a time.)
func TestWaveSizeFollowsScale(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	h := newHoldBalancer()
	half := func(n int) int { return n / 2 }
	ports := map[int]int{}
	for i := 1; i <= 6; i++ {
		ports[i] = freePort(t)
	}
	spec := func(i int) InstanceSpec {
		sp := helperSpec(tag, fmt.Sprintf("web.%d", i), ports[i], "serve")
		sp.MaxUnavailable, sp.MaxUnavailableFor = half(2), half
		return sp
	}
	c := startCluster(t, tag, Config{
		Specs:    []InstanceSpec{spec(1), spec(2)},
		Balancer: h,
		SpecFor:  func(process string, index int) (InstanceSpec, error) { return spec(index), nil },
	})
	t.Cleanup(h.letAllGo)
	c.waitReady()
	if err := c.s.Scale(context.Background(), "web", 6); err != nil {
		t.Fatalf("Scale: %v", err)
	}
	h.reset()
	h.hold.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- c.s.Reload(context.Background(), "web") }()
	for _, wave := range [][]string{{"web.1"}, {"web.2", "web.3", "web.4"}, {"web.5", "web.6"}} {
		h.expect(t, wave...)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Reload: %v", err)
	}
}
