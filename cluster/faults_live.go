package cluster

import (
	"context"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// LiveProcesses plugs the supervisor into the fault registry.
func LiveProcesses(sup *supervisor.Supervisor) ProcessFaults { return liveProcesses{sup} }

type liveProcesses struct{ sup *supervisor.Supervisor }

func (l liveProcesses) KillInstance(ctx context.Context, id string) error {
	return l.sup.KillInstance(ctx, id)
}

func (l liveProcesses) PauseInstance(ctx context.Context, id string) error {
	return l.sup.PauseInstance(ctx, id)
}

func (l liveProcesses) ResumeInstance(ctx context.Context, id string) error {
	return l.sup.ResumeInstance(ctx, id)
}

func (l liveProcesses) Instances() []InstancePID {
	var out []InstancePID
	for _, in := range l.sup.Status() {
		out = append(out, InstancePID{ID: in.ID, PID: in.PID})
	}
	return out
}

// LiveBalancer plugs the proxy into the fault registry.
func LiveBalancer(px *proxy.Proxy) BalancerFaults { return liveBalancer{px} }

type liveBalancer struct{ px *proxy.Proxy }

func (l liveBalancer) SetDrain(id string, on bool) error { return l.px.SetDrain(id, on) }
func (l liveBalancer) SetMaint(id string, on bool) error { return l.px.SetMaint(id, on) }
func (l liveBalancer) SetWeight(id string, w int) error  { return l.px.SetWeight(id, w) }
func (l liveBalancer) ClearFault(id, kind string)        { l.px.ClearFault(id, kind) }

// SetFault hands an HTTP fault to the proxy, whose Fault has the same fields.
func (l liveBalancer) SetFault(id string, f control.Fault) error {
	return l.px.SetFault(id, proxy.Fault{Kind: f.Kind, Delay: f.Delay, Jitter: f.Jitter, Percent: f.Percent, Status: f.Status})
}

func (l liveBalancer) Weight(id string) (int, bool) {
	for _, b := range l.px.Stats() {
		if b.ID == id {
			return b.Weight, true
		}
	}
	return 0, false
}
