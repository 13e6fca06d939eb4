package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// dashboardCluster is the running cluster as the dashboard sees it: Snapshot
// joins the supervisor's view of each instance, the proxy's and the fault
// registry's; Act hands each button to whichever of them does it, through the
// same validation as the control socket (clusterAPI, Faults), so that a
// click and a command refuse alike.
type dashboardCluster struct {
	sup       dashboardSupervisor
	bal       BalancerStats
	ctl       dashboardControl
	faults    dashboardFaults
	processes []dashboard.Process // Name and Balanced, manifest order; Instances is counted per Snapshot
	hosts     []dashboard.Host    // proxy.hosts with their URLs (hosts.go)
	proxy     string
	strategy  string
	seed      uint64 // of the proxy's random choices
	loads     *Loads // nil: the page cannot start a load
	now       func() time.Time
}

// dashboardSupervisor is what the dashboard reads of the supervisor.
type dashboardSupervisor interface {
	Status() []supervisor.InstanceStatus
	Logs(ids []string, n int) []supervisor.LogLine
	Reload(ctx context.Context, processes ...string) error
}

// dashboardControl is the part of the control API the page's buttons share with
// the CLI: restart, stop, start and scale, validated as `devcluster` does.
type dashboardControl interface {
	Restart(ctx context.Context, targets []string) error
	Stop(ctx context.Context, ids []string) error
	Start(ctx context.Context, ids []string) error
	Scale(ctx context.Context, process string, n int) error
}

// dashboardFaults is the fault registry, as the page uses it.
type dashboardFaults interface {
	Set(ctx context.Context, f control.Fault) (control.Fault, error)
	Clear(instance string) ([]control.Fault, error)
	List() []control.Fault
}

var _ dashboard.Cluster = (*dashboardCluster)(nil)

// newDashboardCluster adapts the parts behind api (the same ones the control
// socket drives) to the dashboard.
func newDashboardCluster(api *API) *dashboardCluster {
	m := api.cfg.Manifest
	var procs []dashboard.Process
	for _, p := range m.Processes {
		procs = append(procs, dashboard.Process{Name: p.Name, Balanced: m.IsBalanced(p)})
	}
	var faults dashboardFaults = noFaults{}
	if api.cfg.Faults != nil {
		faults = api.cfg.Faults
	}
	dc := &dashboardCluster{loads: api.cfg.Loads, sup: api.cfg.Supervisor, bal: api.cfg.Proxy, ctl: api, faults: faults, processes: procs,
		proxy: api.cfg.Listen, strategy: api.cfg.Strategy, now: time.Now}
	if api.cfg.Proxy != nil {
		dc.seed = api.cfg.Proxy.Seed()
	}
	return dc
}

// newDashboard builds the live page over the parts api drives, for the proxy's
// listener at addr (its bound address, not ":0"), and has ps and `devcluster
// dashboard` report its URL. The page also answers under each host of
// proxy.hosts on the proxy's ports, and shows their URLs. Call it before the
// control server starts serving: api.dashboard is read without a lock.
func (a *API) newDashboard(rec *dashboard.Recorder, at DashboardAddr, prefix string) (*dashboard.Dashboard, error) {
	dc := newDashboardCluster(a)
	dc.hosts = dashboardHosts(a.cfg.Manifest, at.Addr, at.HTTPS)
	d, err := dashboard.New(dashboard.Config{Cluster: dc, Recorder: rec, Addr: at.Addr, HTTPS: at.HTTPS, Prefix: prefix,
		AllowedHosts: append(allowedHosts(a.cfg.Manifest, append([]string{at.Addr}, at.Also...)), at.Also...)})
	if err != nil {
		return nil, err
	}
	a.dashboard = d.URL()
	return d, nil
}

// noFaults stands in for a cluster built without a fault registry.
type noFaults struct{}

func (noFaults) Set(context.Context, control.Fault) (control.Fault, error) {
	return control.Fault{}, ErrNoFaults
}
func (noFaults) Clear(string) ([]control.Fault, error) { return nil, ErrNoFaults }
func (noFaults) List() []control.Fault                 { return nil }

func (d *dashboardCluster) Snapshot(ctx context.Context) (dashboard.Snapshot, error) {
	instances, _ := Sources{Supervisor: d.sup, Balancer: d.bal, Faults: d.faults}.Instances()
	snap := dashboard.Snapshot{Proxy: d.proxy, Strategy: d.strategy, Seed: d.seed, Hosts: d.hosts}
	if d.loads != nil {
		snap.Load = d.loads.State()
	}
	count := map[string]int{}
	now := d.now()
	for _, st := range instances {
		count[st.Process]++
		snap.Instances = append(snap.Instances, dashboardInstance(st, now))
	}
	for _, p := range d.processes {
		p.Instances = count[p.Name]
		snap.Processes = append(snap.Processes, p)
	}
	return snap, nil
}

// dashboardInstance is the joined view of one instance as the page shows it.
func dashboardInstance(st Instance, now time.Time) dashboard.Instance {
	in := dashboard.Instance{ID: st.ID, Process: st.Process, State: st.DisplayState(), PID: st.PID, StandbyPID: st.StandbyPID, Port: st.Port,
		Restarts: st.Restarts, Reloads: st.Reloads, Faults: []dashboard.Fault{}}
	for _, f := range st.Faults {
		in.Faults = append(in.Faults, dashboard.Fault{Kind: dashboard.ActionKind(f.Kind), Detail: f.Detail(), Until: f.Until})
	}
	if st.PID > 0 && now.After(st.Since) {
		in.Uptime = now.Sub(st.Since)
	}
	if b := st.Backend; b != nil {
		in.Balancer, in.Active, in.Weight, in.Retries, in.Connect = b.State, b.Active, b.Weight, b.Retries, b.ConnectFailures
		in.Health = dashboard.Health{Time: b.LastCheck, OK: b.LastCheckOK, Result: b.LastCheckResult, Duration: b.LastCheckDuration}
	}
	return in
}

// Act does what a button asks; the dashboard has checked the action's shape and
// that its target exists.
func (d *dashboardCluster) Act(ctx context.Context, a dashboard.Action) error {
	switch a.Kind {
	case dashboard.ActRestart:
		return d.ctl.Restart(ctx, []string{a.Target})
	case dashboard.ActStop:
		return d.ctl.Stop(ctx, []string{a.Target})
	case dashboard.ActStart:
		return d.ctl.Start(ctx, []string{a.Target})
	case dashboard.ActScale:
		return d.ctl.Scale(ctx, a.Target, a.N)
	case dashboard.ActReload:
		if d.isProcess(a.Target) {
			return d.sup.Reload(ctx, a.Target)
		}
		return d.ctl.Restart(ctx, []string{a.Target}) // one instance: its reload is its restart
	case dashboard.ActClearFaults:
		_, err := d.faults.Clear(a.Target)
		return err
	case dashboard.ActLoad, dashboard.ActLoadStop:
		if d.loads == nil {
			return errors.New("this cluster cannot send a load from the page (no proxy)")
		}
		if a.Kind == dashboard.ActLoadStop {
			d.loads.Stop()
			return nil
		}
		return d.loads.Start(LoadSpec{Path: a.Path, Users: a.N, Rate: a.Rate, Duration: a.Duration})
	case dashboard.ActKill, dashboard.ActPause, dashboard.ActResume, dashboard.ActDrain, dashboard.ActReady,
		dashboard.ActMaint, dashboard.ActDelay, dashboard.ActFail, dashboard.ActReset, dashboard.ActTimeout, dashboard.ActWeight:
		_, err := d.faults.Set(ctx, control.Fault{Instance: a.Target, Kind: string(a.Kind), Delay: a.Duration,
			Jitter: a.Jitter, Percent: a.Percent, Status: a.Status, Weight: a.Weight, For: a.For})
		return err
	}
	return fmt.Errorf("the dashboard asked for %q, which this devcluster does not do", a.Kind)
}

func (d *dashboardCluster) isProcess(name string) bool {
	for _, p := range d.processes {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (d *dashboardCluster) Logs(ctx context.Context, id string, n int) ([]dashboard.LogLine, error) {
	if n <= 0 {
		return nil, nil // the supervisor's n <= 0 is "everything"; the page asks for a tail
	}
	var out []dashboard.LogLine
	for _, l := range d.sup.Logs([]string{id}, n) {
		out = append(out, dashboard.LogLine{Time: l.Time, Text: l.Text})
	}
	return out, nil
}

// dashboardRequest is one request of the proxy's OnRequest hook as the
// dashboard's Recorder counts it. A request the proxy answered itself (a fail
// fault, no instance ready) still names the instance involved, so that the
// page's row of a failing instance shows its failures.
func dashboardRequest(ri proxy.RequestInfo) dashboard.Request {
	var class dashboard.ErrorClass
	switch ri.ErrorClass {
	case proxy.ErrorConnect:
		class = dashboard.ErrorConnect
	case proxy.ErrorTimeout:
		class = dashboard.ErrorTimeout
	case proxy.ErrorReset:
		class = dashboard.ErrorReset
	}
	return dashboard.Request{End: ri.Time, Instance: ri.Instance, Method: ri.Method, Path: ri.Path, Status: ri.Status,
		Duration: ri.Duration, ID: ri.RequestID, Decision: ri.Decision, Error: class, BytesIn: ri.BytesIn, BytesOut: ri.BytesOut}
}
