package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// clusterAPI is the running cluster as the control socket sees it: it validates names,
// then hands each request to the supervisor (processes) or the proxy (request counts).
type clusterAPI struct {
	proj    *project
	sup     *supervisor.Supervisor
	px      *proxy.Proxy
	started time.Time
	listen  string
	down    context.CancelFunc
	log     *logWriter
	// faults is the cluster's fault registry (api_faults.go); nil: faults refused.
	faults *faultRegistry
	// dashboard is the live page's URL for ps and `devcluster dashboard`; "" when off.
	dashboard string
	// obs are the request observers (cluster_observe.go), set by startDashboard while
	// the control server may already answer `logs --access`: hence atomic.
	obs atomic.Pointer[observers]
}

var _ control.Cluster = (*clusterAPI)(nil)

func (a *clusterAPI) Status(ctx context.Context) (control.Status, error) {
	backends := map[string]proxy.BackendStats{}
	for _, st := range a.px.Stats() {
		backends[st.ID] = st
	}
	st := control.Status{
		PID:       os.Getpid(),
		Dir:       a.proj.manifest.Dir,
		Manifest:  a.proj.manifest.Path,
		Proxy:     a.listen,
		Strategy:  a.proj.strategy,
		Started:   a.started,
		Faults:    a.faultList(),
		Dashboard: a.dashboard,
	}
	for _, in := range a.sup.Status() {
		b, balanced := backends[in.ID]
		st.Instances = append(st.Instances, control.Instance{
			ID:              in.ID,
			Process:         in.Process,
			Index:           in.Index,
			Port:            in.Port,
			PID:             in.PID,
			StandbyPID:      in.StandbyPID,
			State:           in.State,
			Since:           in.Since,
			Restarts:        in.Restarts,
			Reloads:         in.Reloads,
			Requests:        b.Requests,
			LastExit:        in.LastExit,
			Generation:      in.Generation,
			Paused:          in.Paused,
			Balancer:        balancerView(b, balanced),
			LastExitPlanned: in.LastExitPlanned,
		})
	}
	return st, nil
}

// balancerView is the proxy's opinion of an instance for ps, which can differ from
// the supervisor's: a "ready" process whose health checks fail is DOWN here.
func balancerView(b proxy.BackendStats, balanced bool) *control.Balancer {
	if !balanced {
		return nil
	}
	return &control.Balancer{
		State:             b.State,
		Since:             b.Since,
		Active:            b.Active,
		LastCheck:         b.LastCheck,
		LastCheckOK:       b.LastCheckOK,
		LastCheckResult:   b.LastCheckResult,
		LastCheckDuration: b.LastCheckDuration,
		LastError:         b.LastError,
	}
}

// ids lists the instances the supervisor knows, for error messages, in its order
// (manifest order, then index: web.2 before web.10).
func (a *clusterAPI) ids() []string {
	var ids []string
	for _, in := range a.sup.Status() {
		ids = append(ids, in.ID)
	}
	return ids
}

func (a *clusterAPI) checkInstances(ids []string) error {
	if len(ids) == 0 {
		return control.Errorf(http.StatusBadRequest, "name at least one instance, e.g. web.2 (instances: %s)", strings.Join(a.ids(), ", "))
	}
	known := map[string]bool{}
	for _, id := range a.ids() {
		known[id] = true
	}
	for _, id := range ids {
		if !known[id] {
			return control.Errorf(http.StatusNotFound, "unknown instance %q (instances: %s)", id, strings.Join(a.ids(), ", "))
		}
	}
	return nil
}

// checkTargets checks that every target names a process or an instance.
func (a *clusterAPI) checkTargets(targets []string) error {
	known := map[string]bool{}
	for _, n := range a.proj.processNames() {
		known[n] = true
	}
	for _, id := range a.ids() {
		known[id] = true
	}
	for _, t := range targets {
		if !known[t] {
			return control.Errorf(http.StatusNotFound, "unknown process or instance %q (processes: %s; instances: %s)", t,
				strings.Join(a.proj.processNames(), ", "), strings.Join(a.ids(), ", "))
		}
	}
	return nil
}

func (a *clusterAPI) Restart(ctx context.Context, targets []string) error {
	if len(targets) == 0 {
		targets = a.proj.processNames()
	}
	if err := a.checkTargets(targets); err != nil {
		return err
	}
	return a.sup.Restart(ctx, targets...)
}

func (a *clusterAPI) Stop(ctx context.Context, ids []string) error {
	if err := a.checkInstances(ids); err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.sup.StopInstance(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *clusterAPI) Start(ctx context.Context, ids []string) error {
	if err := a.checkInstances(ids); err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.sup.StartInstance(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *clusterAPI) Scale(ctx context.Context, process string, n int) error {
	if a.proj.process(process) == nil {
		return control.Errorf(http.StatusNotFound, "unknown process %q (processes: %s)", process, strings.Join(a.proj.processNames(), ", "))
	}
	if n < 0 {
		return control.Errorf(http.StatusBadRequest, "cannot scale %s to %d instances: the count must be 0 or more", process, n)
	}
	// The same plan as start-up, so that scaling cannot do what -m refuses: put two
	// instances on one port (a.101 on b.1's), or run more than the limit.
	if _, err := a.proj.manifest.PlanScale(a.formation(), process, n, a.proj.basePort); err != nil {
		return control.WithCode(http.StatusBadRequest, fmt.Errorf("cannot scale %s to %d: %w", process, n, err))
	}
	return a.sup.Scale(ctx, process, n)
}

// formation is how many instances of each process the cluster has now, stopped
// ones included (they keep their ports); 0 for a process with none.
func (a *clusterAPI) formation() map[string]int {
	f := make(map[string]int, len(a.proj.manifest.Processes))
	for _, name := range a.proj.processNames() {
		f[name] = 0
	}
	for _, in := range a.sup.Status() {
		f[in.Process]++
	}
	return f
}

func (a *clusterAPI) Logs(ctx context.Context, ids []string, n int, follow bool, out func(control.LogLine) error) error {
	if len(ids) > 0 {
		if err := a.checkTargets(ids); err != nil {
			return err
		}
		ids = a.expandProcesses(ids)
	}
	for _, l := range a.sup.Logs(ids, n) {
		if err := out(control.LogLine{ID: l.ID, Time: l.Time, Text: l.Text}); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	for l := range a.sup.Follow(ctx, ids) {
		if err := out(control.LogLine{ID: l.ID, Time: l.Time, Text: l.Text}); err != nil {
			return err
		}
	}
	return nil
}

// expandProcesses replaces process names by their instance IDs.
func (a *clusterAPI) expandProcesses(targets []string) []string {
	var out []string
	for _, t := range targets {
		if a.proj.process(t) != nil {
			for _, in := range a.sup.Status() {
				if in.Process == t {
					out = append(out, in.ID)
				}
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

func (a *clusterAPI) Down(ctx context.Context) error {
	a.log.printf("devcluster down: stopping every instance")
	a.down()
	return nil
}
