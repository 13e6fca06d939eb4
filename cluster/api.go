package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// Config is what the control API of a running cluster is built from.
type Config struct {
	Manifest   *procfile.Manifest
	BasePort   int    // the instances' base port, for scaling's plan
	Strategy   string // the balancing strategy in force
	Listen     string // the proxy's bound address
	ProxyURL   string // the URL clients reach it at (https:// when it serves HTTPS)
	Started    time.Time
	Supervisor *supervisor.Supervisor
	Proxy      *proxy.Proxy
	Faults     *Faults // nil: faults are refused
	Loads      *Loads  // the dashboard's loads; nil: refused
	// Down asks the cluster to stop (devcluster down); it must not block.
	Down func()
	// Logf reports what the API does on its own (nil: silent).
	Logf func(format string, args ...any)
}

// API is the running cluster as the control socket sees it: it validates names,
// then hands each request to the supervisor (processes), the proxy or the fault
// registry. Its Status is the joined view (view.go).
type API struct {
	cfg Config
	// dashboard is the live page's URL for ps and `devcluster dashboard`; "" when off.
	dashboard string
	// obs are the request observers (access.go), set by Observers.Start while
	// the control server may already answer `logs --access`: hence atomic.
	obs atomic.Pointer[Observers]
}

var _ control.Cluster = (*API)(nil)

// NewAPI returns the API over cfg's parts; it starts nothing.
func NewAPI(cfg Config) *API {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &API{cfg: cfg}
}

// sources are the joined view's sources in a running cluster.
func (a *API) sources() Sources {
	s := Sources{Supervisor: a.cfg.Supervisor, Balancer: a.cfg.Proxy}
	if a.cfg.Faults != nil {
		s.Faults = a.cfg.Faults
	}
	return s
}

func (a *API) Status(ctx context.Context) (control.Status, error) {
	instances, faults := a.sources().Instances()
	st := control.Status{
		PID:       os.Getpid(),
		Dir:       a.cfg.Manifest.Dir,
		Manifest:  a.cfg.Manifest.Path,
		Proxy:     a.cfg.Listen,
		ProxyURL:  a.cfg.ProxyURL,
		Strategy:  a.cfg.Strategy,
		Started:   a.cfg.Started,
		Faults:    faults,
		Dashboard: a.dashboard,
	}
	if a.cfg.Proxy != nil {
		st.Seed = a.cfg.Proxy.Seed()
	}
	for _, in := range instances {
		st.Instances = append(st.Instances, controlInstance(in))
	}
	return st, nil
}

// controlInstance is the joined view of one instance as ps shows it.
func controlInstance(in Instance) control.Instance {
	ci := control.Instance{
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
		LastExit:        in.LastExit,
		Generation:      in.Generation,
		Paused:          in.IsPaused(),
		LastExitPlanned: in.LastExitPlanned,
	}
	if b := in.Backend; b != nil {
		ci.Requests = b.Requests
		ci.Balancer = &control.Balancer{
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
	return ci
}

// ids lists the instances the supervisor knows, for error messages, in its order
// (manifest order, then index: web.2 before web.10).
func (a *API) ids() []string {
	var ids []string
	for _, in := range a.cfg.Supervisor.Status() {
		ids = append(ids, in.ID)
	}
	return ids
}

func (a *API) checkInstances(ids []string) error {
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
func (a *API) checkTargets(targets []string) error {
	known := map[string]bool{}
	for _, n := range a.processNames() {
		known[n] = true
	}
	for _, id := range a.ids() {
		known[id] = true
	}
	for _, t := range targets {
		if !known[t] {
			return control.Errorf(http.StatusNotFound, "unknown process or instance %q (processes: %s; instances: %s)", t,
				strings.Join(a.processNames(), ", "), strings.Join(a.ids(), ", "))
		}
	}
	return nil
}

func (a *API) Restart(ctx context.Context, targets []string) error {
	if len(targets) == 0 {
		targets = a.processNames()
	}
	if err := a.checkTargets(targets); err != nil {
		return err
	}
	return a.cfg.Supervisor.Restart(ctx, targets...)
}

func (a *API) Stop(ctx context.Context, ids []string) error {
	if err := a.checkInstances(ids); err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.cfg.Supervisor.StopInstance(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) Start(ctx context.Context, ids []string) error {
	if err := a.checkInstances(ids); err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.cfg.Supervisor.StartInstance(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) Scale(ctx context.Context, process string, n int) error {
	if a.cfg.Manifest.Process(process) == nil {
		return control.Errorf(http.StatusNotFound, "unknown process %q (processes: %s)", process, strings.Join(a.processNames(), ", "))
	}
	if n < 0 {
		return control.Errorf(http.StatusBadRequest, "cannot scale %s to %d instances: the count must be 0 or more", process, n)
	}
	// The same plan as start-up, so that scaling cannot do what -m refuses: put two
	// instances on one port (a.101 on b.1's), or run more than the limit.
	if _, err := a.cfg.Manifest.PlanScale(a.formation(), process, n, a.cfg.BasePort); err != nil {
		return control.WithCode(http.StatusBadRequest, fmt.Errorf("cannot scale %s to %d: %w", process, n, err))
	}
	return a.cfg.Supervisor.Scale(ctx, process, n)
}

// formation is how many instances of each process the cluster has now, stopped
// ones included (they keep their ports); 0 for a process with none.
func (a *API) formation() map[string]int {
	f := make(map[string]int, len(a.cfg.Manifest.Processes))
	for _, name := range a.processNames() {
		f[name] = 0
	}
	for _, in := range a.cfg.Supervisor.Status() {
		f[in.Process]++
	}
	return f
}

func (a *API) Logs(ctx context.Context, ids []string, n int, follow bool, out func(control.LogLine) error) error {
	if len(ids) > 0 {
		if err := a.checkTargets(ids); err != nil {
			return err
		}
		ids = a.expandProcesses(ids)
	}
	for _, l := range a.cfg.Supervisor.Logs(ids, n) {
		if err := out(control.LogLine{ID: l.ID, Time: l.Time, Text: l.Text}); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	for l := range a.cfg.Supervisor.Follow(ctx, ids) {
		if err := out(control.LogLine{ID: l.ID, Time: l.Time, Text: l.Text}); err != nil {
			return err
		}
	}
	return nil
}

// expandProcesses replaces process names by their instance IDs.
func (a *API) expandProcesses(targets []string) []string {
	var out []string
	for _, t := range targets {
		if a.cfg.Manifest.Process(t) != nil {
			for _, in := range a.cfg.Supervisor.Status() {
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

func (a *API) Down(ctx context.Context) error {
	a.cfg.Logf("devcluster down: stopping every instance")
	a.cfg.Down()
	return nil
}

// processNames lists the manifest's processes in its order.
func (a *API) processNames() []string {
	names := make([]string, len(a.cfg.Manifest.Processes))
	for i, p := range a.cfg.Manifest.Processes {
		names[i] = p.Name
	}
	return names
}
