package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestBrokenSaveBacksOffAndPrintsTracebackOnce is issue 10 item 2: an instance that
// had been ready for more than 10 s when a save broke it restarted every 0.5 s
// forever (readyAt was never cleared for the next child, so every crash looked like
// the first after a healthy run) and printed the whole traceback every time. A
// synctest bubble runs the real backoff: its clock moves only while no child runs.
func TestBrokenSaveBacksOffAndPrintsTracebackOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testBrokenSaveBacksOff)
}

func testBrokenSaveBacksOff(t *testing.T) {
	tag := newTag(t)
	broken := filepath.Join(t.TempDir(), "broken")
	var skew atomic.Int64 // the injected clock runs this far ahead of the bubble's
	var mu sync.Mutex
	var failures []int
	c := startCluster(t, tag, Config{
		Specs: []InstanceSpec{helperSpec(tag, "worker.1", 0, "serve", "HELPER_BROKEN_FILE="+broken)},
		Now:   func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		Backoff: func(n int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, n)
			return defaultBackoff(n)
		},
	})
	c.waitReady()
	skew.Store(int64(30 * time.Second)) // up for 30 s, as while editing
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	outBefore, logBefore := lineCount(c.out.String()), lineCount(c.log.String())
	// A worker without a port is ready once it runs, so Restart may return before
	// the crash; what counts is what follows.
	_ = c.s.Restart(context.Background(), "worker.1")
	time.Sleep(20 * time.Second)
	st := c.status("worker.1")
	if st.Restarts > 6 {
		t.Errorf("restarts in the 20 s after the save: got %d, want at most 6 (backoff by failure: %v)", st.Restarts, failures)
	}
	if st.State != StateCrashLooping {
		t.Errorf("state: got %q, want %q", st.State, StateCrashLooping)
	}
	out, log := c.out.String(), c.log.String()
	n := lineCount(out) - outBefore + lineCount(log) - logBefore
	t.Logf("in the 20 s after the save: %d restarts, %d lines of output", st.Restarts, n)
	if n > 200 {
		t.Errorf("lines of output in the 20 s after the save: got %d, want at most 200", n)
	}
	if n := strings.Count(out, "SyntaxError: invalid syntax"); n != 1 {
		t.Errorf("tracebacks printed: got %d, want 1", n)
	}
	for _, want := range []string{
		"devcluster | worker.1 still fails the same way (attempt 2, next in ",
		"devcluster | worker.1 is crash-looping: exited 5 times in a row (last: exit status 1)",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log: got\n%s\nwant a line containing %q", log, want)
		}
	}
}

func lineCount(s string) int { return strings.Count(s, "\n") }

// TestBackoffGrowsAfterHealthyRun is the bug behind item 2 itself: readyAt kept the
// time the previous, healthy child became ready, so each crash of a new child that
// never got ready counted as the first after a healthy run and the backoff stayed
// at its first step. The children are real; the clock is injected (30 s later).
func TestBackoffGrowsAfterHealthyRun(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	broken := filepath.Join(t.TempDir(), "broken")
	var skew atomic.Int64
	var mu sync.Mutex
	var failures []int
	got := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), failures...)
	}
	c := startCluster(t, tag, Config{
		Specs: []InstanceSpec{helperSpec(tag, "web.1", freePort(t), "serve", "HELPER_BROKEN_FILE="+broken)},
		Now:   func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		Backoff: func(n int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			if n < 1<<10 { // not the crash-loop message's question about the cap
				failures = append(failures, n)
			}
			return time.Millisecond
		},
	})
	c.waitReady()
	skew.Store(int64(30 * time.Second))
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.s.Restart(context.Background(), "web.1"); err == nil {
		t.Error("Restart onto broken code: got nil, want an error")
	}
	tstest.WaitFor(t, 10*time.Second, "five failures", func() bool { return len(got()) >= 5 })
	if f := got()[:5]; !slices.Equal(f, []int{1, 2, 3, 4, 5}) {
		t.Errorf("failure counts given to the backoff: got %v, want [1 2 3 4 5]", f)
	}
	c.waitState("web.1", StateCrashLooping)
}
