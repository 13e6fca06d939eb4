package supervisor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestWorkerWithoutReadinessRuleIsRunningNotReady: a worker with no port, no
// health path and no ready: rule (here one that sleeps) proves nothing by
// running, so it is shown as "running", never "ready" (issue 22 item 6); it
// still counts for Ready, as before.
func TestWorkerWithoutReadinessRuleIsRunningNotReady(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "worker.1", 0, "sleep")}})
	c.waitReady()
	if st := c.status("worker.1"); st.State != "running" || st.PID == 0 {
		t.Errorf("worker.1: got state %q pid %d, want \"running\" with a pid", st.State, st.PID)
	}
	for _, st := range c.commits.of("worker.1") {
		if st.State == "ready" {
			t.Errorf("worker.1 was committed as %q: %+v", st.State, st)
		}
	}
}

// TestBalancedInstanceStaysReady keeps what a balanced instance shows: ready
// once its port accepts connections.
func TestBalancedInstanceStaysReady(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "web.1", freePort(t), "serve")}})
	c.waitReady()
	if st := c.status("web.1"); st.State != StateReady {
		t.Errorf("web.1: got state %q, want %q", st.State, StateReady)
	}
}

// readyRuleCase starts worker.1 (not balanced) with a readiness rule that
// holds only once flag exists, checks that it is starting until then, and
// ready after.
func readyRuleCase(t *testing.T, mode string, port int, rule func(sp *InstanceSpec, flag string)) {
	t.Helper()
	tag := newTag(t)
	flag := filepath.Join(t.TempDir(), "flag")
	sp := helperSpec(tag, "worker.1", port, mode, "HELPER_LISTEN_FILE="+flag)
	rule(&sp, flag)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}})
	if mode == "serve" {
		c.waitLine("worker.1", "waiting for")
	} else {
		tstest.WaitFor(t, 10*time.Second, "worker.1 to run", func() bool { c.ended(); return c.status("worker.1").PID != 0 })
	}
	if st := c.status("worker.1"); st.State != StateStarting {
		t.Fatalf("worker.1 before its rule holds: got state %q, want %q", st.State, StateStarting)
	}
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c.waitState("worker.1", StateReady)
	c.waitReady()
}

func TestReadyTCPWaitsForThePort(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	readyRuleCase(t, "serve", port, func(sp *InstanceSpec, _ string) { sp.ReadyTCP = port })
}

func TestReadyLogWaitsForTheLine(t *testing.T) {
	t.Parallel()
	readyRuleCase(t, "serve", freePort(t), func(sp *InstanceSpec, _ string) { sp.ReadyLog = `^listening on 127\.0\.0\.1:\d+$` })
}

func TestReadyCommandRunsUntilItExitsZero(t *testing.T) {
	t.Parallel()
	readyRuleCase(t, "sleep", 0, func(sp *InstanceSpec, flag string) { sp.ReadyCommand = "test -f " + shellQuote(flag) })
}

// TestDependsOnStartsAfterTheDependencyIsReady: web depends on redis, whose
// port opens only once the test says so: web waits (no process) until then,
// and its first start comes after redis's ready.
func TestDependsOnStartsAfterTheDependencyIsReady(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	flag := filepath.Join(t.TempDir(), "flag")
	redisPort := freePort(t)
	redis := helperSpec(tag, "redis.1", redisPort, "serve", "HELPER_LISTEN_FILE="+flag)
	redis.ReadyTCP = redisPort
	web := helperSpec(tag, "web.1", freePort(t), "serve")
	web.DependsOn = []string{"redis"}
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{web, redis}})
	c.waitLine("redis.1", "waiting for")
	c.waitState("web.1", StateWaiting)
	if st := c.status("web.1"); st.PID != 0 {
		t.Fatalf("web.1 runs (pid %d) before redis is ready", st.PID)
	}
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c.waitReady()
	c.waitState("web.1", StateReady)
	c.commits.mu.Lock()
	list := slices.Clone(c.commits.list)
	c.commits.mu.Unlock()
	redisReady := slices.IndexFunc(list, func(st InstanceStatus) bool { return st.ID == "redis.1" && st.State == StateReady })
	webStart := slices.IndexFunc(list, func(st InstanceStatus) bool { return st.ID == "web.1" && st.PID != 0 })
	if redisReady < 0 || webStart < redisReady {
		t.Errorf("web.1 started at commit %d, redis.1 ready at commit %d: want web after redis", webStart, redisReady)
	}
	if !strings.Contains(c.log.String(), "web.1 waits for redis to be ready") {
		t.Errorf("log does not say what web.1 waits for:\n%s", c.log.String())
	}
}
