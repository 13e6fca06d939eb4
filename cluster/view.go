package cluster

import (
	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// Instance is one instance as the whole cluster sees it: the supervisor's
// process beside the balancer's opinion of it and the faults it is under. ps
// (through the control API) and the dashboard both present this join, so that
// they cannot disagree on what an instance is.
type Instance struct {
	supervisor.InstanceStatus
	// Backend is the proxy's view, which can differ from the supervisor's (a
	// "ready" process whose health checks fail is down here); nil when the
	// proxy does not balance the instance.
	Backend *proxy.BackendStats
	// Faults are the active faults of the instance, in control.FaultKinds order.
	Faults []control.Fault
}

// IsPaused reports whether the process is SIGSTOPped: by the supervisor's
// account, or by a pause fault the registry holds (which it forgets once the
// paused process is gone).
func (in Instance) IsPaused() bool {
	if in.Paused {
		return true
	}
	for _, f := range in.Faults {
		if f.Kind == control.FaultPause {
			return true
		}
	}
	return false
}

// DisplayState is the state to show: "paused" for a paused process, whose
// State stays ready (it holds its port), and State otherwise.
func (in Instance) DisplayState() string {
	if in.IsPaused() {
		return "paused"
	}
	return in.State
}

// Sources are what the joined view is read from; the supervisor, the proxy
// and the fault registry satisfy them, and tests can put fakes in their place.
type Sources struct {
	Supervisor ProcessStatus
	Balancer   BalancerStats
	Faults     FaultList // nil: no faults
}

// ProcessStatus is the supervisor's side of the view.
type ProcessStatus interface {
	Status() []supervisor.InstanceStatus
}

// BalancerStats is the proxy's side of the view.
type BalancerStats interface{ Stats() []proxy.BackendStats }

// FaultList is the fault registry's side of the view.
type FaultList interface{ List() []control.Fault }

// Instances joins the three sources, in the supervisor's order (manifest
// order, then index: web.2 before web.10). It also returns the fault list it
// read, so that a caller showing both shows one moment.
func (s Sources) Instances() ([]Instance, []control.Fault) {
	var faults []control.Fault
	if s.Faults != nil {
		faults = s.Faults.List()
	}
	return Join(s.Supervisor.Status(), s.Balancer.Stats(), faults), faults
}

// Join is the one join of the supervisor's statuses, the proxy's stats and
// the active faults into Instances, one per status, in the statuses' order.
func Join(statuses []supervisor.InstanceStatus, stats []proxy.BackendStats, faults []control.Fault) []Instance {
	backends := make(map[string]*proxy.BackendStats, len(stats))
	for i := range stats {
		backends[stats[i].ID] = &stats[i]
	}
	byInstance := map[string][]control.Fault{}
	for _, f := range faults {
		byInstance[f.Instance] = append(byInstance[f.Instance], f)
	}
	out := make([]Instance, 0, len(statuses))
	for _, st := range statuses {
		out = append(out, Instance{InstanceStatus: st, Backend: backends[st.ID], Faults: byInstance[st.ID]})
	}
	return out
}
