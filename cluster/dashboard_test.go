package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// fakeDashboardParts is the supervisor, the proxy and the control API as the
// dashboard adapter sees them; every call is recorded.
type fakeDashboardParts struct {
	mu     sync.Mutex
	calls  []string
	status []supervisor.InstanceStatus
	stats  []proxy.BackendStats
	logs   []supervisor.LogLine
}

func (f *fakeDashboardParts) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeDashboardParts) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeDashboardParts) Status() []supervisor.InstanceStatus { return f.status }
func (f *fakeDashboardParts) Stats() []proxy.BackendStats         { return f.stats }

func (f *fakeDashboardParts) Logs(ids []string, n int) []supervisor.LogLine {
	f.record("logs %v %d", ids, n)
	return f.logs
}

func (f *fakeDashboardParts) Reload(ctx context.Context, processes ...string) error {
	return f.record("reload %v", processes)
}

func (f *fakeDashboardParts) Restart(ctx context.Context, targets []string) error {
	return f.record("restart %v", targets)
}
func (f *fakeDashboardParts) Stop(ctx context.Context, ids []string) error {
	return f.record("stop %v", ids)
}
func (f *fakeDashboardParts) Start(ctx context.Context, ids []string) error {
	return f.record("start %v", ids)
}
func (f *fakeDashboardParts) Scale(ctx context.Context, process string, n int) error {
	return f.record("scale %s %d", process, n)
}

func newTestDashboardCluster(t *testing.T) (*dashboardCluster, *fakeDashboardParts, *fakeTargets, *Faults) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	parts := &fakeDashboardParts{
		status: []supervisor.InstanceStatus{
			{ID: "web.1", Process: "web", Index: 1, Port: 5000, PID: 100, StandbyPID: 110, State: "ready", Since: t0, Restarts: 1, Reloads: 2},
			{ID: "web.2", Process: "web", Index: 2, Port: 5001, PID: 101, State: "ready", Since: t0},
			{ID: "worker.1", Process: "worker", Index: 1, State: "stopped", Since: t0},
		},
		stats: []proxy.BackendStats{
			{ID: "web.1", Process: "web", State: "up", Active: 2, Weight: 1, Retries: 7, ConnectFailures: 9, LastCheck: t0, LastCheckOK: true, LastCheckResult: "HTTP 200", LastCheckDuration: 3 * time.Millisecond},
			{ID: "web.2", Process: "web", State: "maint", Weight: 4},
		},
	}
	reg, targets, _, _ := runRegistry(t, "web.1", "web.2", "worker.1")
	d := &dashboardCluster{sup: parts, bal: parts, ctl: parts, faults: reg, proxy: "127.0.0.1:8080", strategy: "roundrobin", seed: 42,
		processes: []dashboard.Process{{Name: "web", Balanced: true}, {Name: "worker"}},
		now:       func() time.Time { return t0.Add(time.Minute) }}
	return d, parts, targets, reg
}

func TestDashboardSnapshot(t *testing.T) {
	t.Parallel()
	d, _, _, reg := newTestDashboardCluster(t)
	ctx := context.Background()
	if _, err := reg.Set(ctx, control.Fault{Instance: "web.2", Kind: control.FaultPause}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Set(ctx, control.Fault{Instance: "web.2", Kind: control.FaultDelay, Delay: 300 * time.Millisecond, For: time.Minute}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Proxy != "127.0.0.1:8080" || s.Strategy != "roundrobin" || s.Seed != 42 {
		t.Errorf("got proxy %q strategy %q seed %d, want 127.0.0.1:8080, roundrobin, 42", s.Proxy, s.Strategy, s.Seed)
	}
	wantProcs := []dashboard.Process{{Name: "web", Instances: 2, Balanced: true}, {Name: "worker", Instances: 1}}
	if !slices.Equal(s.Processes, wantProcs) {
		t.Errorf("got processes %+v, want %+v", s.Processes, wantProcs)
	}
	if len(s.Instances) != 3 {
		t.Fatalf("got %d instances, want 3", len(s.Instances))
	}
	w1, w2, k1 := s.Instances[0], s.Instances[1], s.Instances[2]
	if w1.ID != "web.1" || w1.State != "ready" || w1.Balancer != "up" || w1.PID != 100 || w1.Port != 5000 || w1.Uptime != time.Minute ||
		w1.Restarts != 1 || w1.Reloads != 2 || w1.Active != 2 || w1.Weight != 1 || w1.Retries != 7 || !w1.Health.OK || w1.Health.Result != "HTTP 200" ||
		w1.Health.Duration != 3*time.Millisecond || len(w1.Faults) != 0 || w1.Faults == nil {
		t.Errorf("got web.1 %+v, want the supervisor's and the proxy's view joined, faults []", w1)
	}
	if w1.StandbyPID != 110 || w2.StandbyPID != 0 {
		t.Errorf("got standby pids %d and %d, want web.1's 110 and none for web.2", w1.StandbyPID, w2.StandbyPID)
	}
	if w1.Connect != 9 {
		t.Errorf("got web.1 connect errors %d, want the proxy's ConnectFailures, 9", w1.Connect)
	}
	if w2.State != "paused" || w2.Balancer != "maint" || w2.Weight != 4 {
		t.Errorf("got web.2 state %q balancer %q weight %d, want paused, maint, 4", w2.State, w2.Balancer, w2.Weight)
	}
	wantFaults := []dashboard.Fault{{Kind: dashboard.ActPause}, {Kind: dashboard.ActDelay, Detail: "300ms", Until: time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)}}
	if !slices.Equal(w2.Faults, wantFaults) {
		t.Errorf("got web.2 faults %+v, want %+v", w2.Faults, wantFaults)
	}
	if k1.Balancer != "" || k1.Uptime != 0 || k1.PID != 0 {
		t.Errorf("got worker.1 %+v, want no balancer and no uptime", k1)
	}
}

func TestDashboardActions(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		a         dashboard.Action
		wantParts []string // calls on supervisor / control API
		wantFault []string // calls through the fault registry
	}{
		{dashboard.Action{Kind: dashboard.ActRestart, Target: "web"}, []string{"restart [web]"}, nil},
		{dashboard.Action{Kind: dashboard.ActStop, Target: "web.2"}, []string{"stop [web.2]"}, nil},
		{dashboard.Action{Kind: dashboard.ActStart, Target: "web.2"}, []string{"start [web.2]"}, nil},
		{dashboard.Action{Kind: dashboard.ActScale, Target: "web", N: 5}, []string{"scale web 5"}, nil},
		{dashboard.Action{Kind: dashboard.ActReload, Target: "web"}, []string{"reload [web]"}, nil},
		{dashboard.Action{Kind: dashboard.ActReload, Target: "web.1"}, []string{"restart [web.1]"}, nil},
		{dashboard.Action{Kind: dashboard.ActKill, Target: "web.2"}, nil, []string{"kill web.2"}},
		{dashboard.Action{Kind: dashboard.ActPause, Target: "web.2"}, nil, []string{"pause web.2"}},
		{dashboard.Action{Kind: dashboard.ActResume, Target: "web.2"}, nil, []string{"resume web.2"}},
		{dashboard.Action{Kind: dashboard.ActDrain, Target: "web.2"}, nil, []string{"drain web.2 true"}},
		{dashboard.Action{Kind: dashboard.ActReady, Target: "web.2"}, nil, []string{"drain web.2 false", "maint web.2 false"}},
		{dashboard.Action{Kind: dashboard.ActMaint, Target: "web.2"}, nil, []string{"maint web.2 true"}},
		{dashboard.Action{Kind: dashboard.ActDelay, Target: "web.2", Duration: 300 * ms, Jitter: 50 * ms, Percent: 100},
			nil, []string{"setfault web.2 delay 300ms ±50ms"}},
		{dashboard.Action{Kind: dashboard.ActFail, Target: "web.2", Percent: 50, Status: 503}, nil, []string{"setfault web.2 fail 50% → 503"}},
		{dashboard.Action{Kind: dashboard.ActReset, Target: "web.2", Percent: 25}, nil, []string{"setfault web.2 reset on 25%"}},
		{dashboard.Action{Kind: dashboard.ActTimeout, Target: "web.2", Percent: 100}, nil, []string{"setfault web.2 timeout"}},
		{dashboard.Action{Kind: dashboard.ActWeight, Target: "web.2", Weight: 3}, nil, []string{"weight web.2 3"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.a.Kind)+" "+tt.a.Target, func(t *testing.T) {
			t.Parallel()
			d, parts, targets, _ := newTestDashboardCluster(t)
			if err := d.Act(context.Background(), tt.a); err != nil {
				t.Fatalf("Act: %v", err)
			}
			if got := parts.Calls(); !slices.Equal(got, tt.wantParts) {
				t.Errorf("got calls %q, want %q", got, tt.wantParts)
			}
			if got := targets.Calls(); !slices.Equal(got, tt.wantFault) {
				t.Errorf("got fault calls %q, want %q", got, tt.wantFault)
			}
		})
	}
}

func TestDashboardClearAndRefusal(t *testing.T) {
	t.Parallel()
	d, _, targets, reg := newTestDashboardCluster(t)
	ctx := context.Background()
	d.Act(ctx, dashboard.Action{Kind: dashboard.ActMaint, Target: "web.1"})
	d.Act(ctx, dashboard.Action{Kind: dashboard.ActPause, Target: "web.2"})
	targets.Calls()
	if err := d.Act(ctx, dashboard.Action{Kind: dashboard.ActClearFaults}); err != nil {
		t.Fatal(err)
	}
	if got := targets.Calls(); !slices.Equal(got, []string{"maint web.1 false", "resume web.2"}) || len(reg.List()) != 0 {
		t.Errorf("got calls %q and faults %+v, want every fault undone", got, reg.List())
	}
	err := d.Act(ctx, dashboard.Action{Kind: dashboard.ActWeight, Target: "web.1", Weight: 0})
	if err == nil || err.Error() != "weight is for weight, 1..256, got 0" {
		t.Errorf("got %v, want the registry's refusal shown on the page", err)
	}
}

func TestDashboardLogs(t *testing.T) {
	t.Parallel()
	d, parts, _, _ := newTestDashboardCluster(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	parts.logs = []supervisor.LogLine{{ID: "web.1", Time: t0, Text: "GET / 200"}}
	got, err := d.Logs(context.Background(), "web.1", 12)
	if err != nil || len(got) != 1 || got[0].Text != "GET / 200" || !got[0].Time.Equal(t0) {
		t.Errorf("got %+v, %v; want the supervisor's line", got, err)
	}
	if calls := parts.Calls(); !slices.Equal(calls, []string{"logs [web.1] 12"}) {
		t.Errorf("got calls %q, want the tail of web.1 only", calls)
	}
}

func TestNewDashboardOverProject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	manifest := "web: python3 -m http.server $PORT\nworker: python3 -c 'import time; time.sleep(9)'\n"
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := procfile.Load(filepath.Join(dir, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	api := NewAPI(Config{Manifest: m, Listen: "127.0.0.1:8080"})
	want := []dashboard.Process{{Name: "web", Balanced: true}, {Name: "worker"}}
	if got := newDashboardCluster(api).processes; !slices.Equal(got, want) {
		t.Errorf("got processes %+v, want %+v (worker has no port in rotation)", got, want)
	}
	d, err := api.newDashboard(nil, DashboardAddr{Addr: "127.0.0.1:8080"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if api.dashboard != d.URL() || !strings.HasPrefix(api.dashboard, "http://127.0.0.1:8080/_devcluster/#token=") {
		t.Errorf("got Status URL %q, want the dashboard's %q", api.dashboard, d.URL())
	}
}

func TestDashboardRequestFromProxy(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ri := proxy.RequestInfo{Time: t0, Instance: "web.2", Process: "web", Method: "GET", Path: "/cart?x=1", Status: 504,
		Duration: 1200 * time.Millisecond, Upstream: time.Second, RequestID: "abc", Decision: "fault: timeout",
		ErrorClass: proxy.ErrorTimeout, BytesIn: 3, BytesOut: 40, Retries: 1}
	want := dashboard.Request{End: t0, Instance: "web.2", Method: "GET", Path: "/cart?x=1", Status: 504,
		Duration: 1200 * time.Millisecond, ID: "abc", Decision: "fault: timeout", Error: dashboard.ErrorTimeout, BytesIn: 3, BytesOut: 40}
	if got := dashboardRequest(ri); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for class, want := range map[string]dashboard.ErrorClass{"": dashboard.ErrorNone, proxy.ErrorConnect: dashboard.ErrorConnect, proxy.ErrorReset: dashboard.ErrorReset} {
		if got := dashboardRequest(proxy.RequestInfo{ErrorClass: class}).Error; got != want {
			t.Errorf("error class %q: got %v, want %v", class, got, want)
		}
	}
}

func TestDashboardShowsSupervisorPause(t *testing.T) {
	t.Parallel()
	d, parts, _, _ := newTestDashboardCluster(t)
	parts.status[0].Paused = true // paused, say, before a fault registry knew
	s, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Instances[0].State; got != "paused" {
		t.Errorf("got web.1 state %q, want paused", got)
	}
}

// TestFailFaultCountsAsInstance5xx: the proxy's answer for a fail fault names
// the faulted instance (proxy.RequestInfo.Instance, see proxy's
// TestFailFaultHitsItsShare), and the dashboard counts it as that instance's 5xx, not
// the proxy's: the row of the instance being failed shows its failures.
func TestFailFaultCountsAsInstance5xx(t *testing.T) {
	t.Parallel()
	rec := dashboard.NewRecorder(dashboard.RecorderConfig{})
	for range 3 {
		rec.Record(dashboardRequest(proxy.RequestInfo{Instance: "web.2", Process: "web", Method: "GET", Path: "/", Status: 503,
			Duration: time.Millisecond, Decision: "fault: fail 503"}))
	}
	if got := rec.Traffic("web.2"); got.Total != 3 || got.Classes[5] != 3 {
		t.Errorf("web.2 traffic: got total %d, 5xx %d; want 3 and 3", got.Total, got.Classes[5])
	}
	if got := rec.Traffic(""); got.Total != 0 {
		t.Errorf("the proxy's own row counted %d requests, want 0: a fail fault's answer is the instance's", got.Total)
	}
}
