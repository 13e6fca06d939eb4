package main

import (
	"context"
	"fmt"

	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// liveProcesses plugs the supervisor into the fault registry.
//
// The supervisor's KillInstance, PauseInstance and ResumeInstance (issue 12) are
// found by their method sets rather than called directly, with or without a
// context, so that this file compiles before and after they land; until then
// the fault says which method is missing instead of failing the build.
type liveProcesses struct{ sup *supervisor.Supervisor }

func (l liveProcesses) KillInstance(ctx context.Context, id string) error {
	switch s := any(l.sup).(type) {
	case interface {
		KillInstance(context.Context, string) error
	}:
		return s.KillInstance(ctx, id)
	case interface{ KillInstance(string) error }:
		return s.KillInstance(id)
	}
	return notInBuild("supervisor", "KillInstance")
}

func (l liveProcesses) PauseInstance(ctx context.Context, id string) error {
	switch s := any(l.sup).(type) {
	case interface {
		PauseInstance(context.Context, string) error
	}:
		return s.PauseInstance(ctx, id)
	case interface{ PauseInstance(string) error }:
		return s.PauseInstance(id)
	}
	return notInBuild("supervisor", "PauseInstance")
}

func (l liveProcesses) ResumeInstance(ctx context.Context, id string) error {
	switch s := any(l.sup).(type) {
	case interface {
		ResumeInstance(context.Context, string) error
	}:
		return s.ResumeInstance(ctx, id)
	case interface{ ResumeInstance(string) error }:
		return s.ResumeInstance(id)
	}
	return notInBuild("supervisor", "ResumeInstance")
}

func (l liveProcesses) Instances() []instancePID {
	var out []instancePID
	for _, in := range l.sup.Status() {
		out = append(out, instancePID{ID: in.ID, PID: in.PID})
	}
	return out
}

// notInBuild is the error of a fault whose other half is not in this build.
func notInBuild(pkg, method string) error {
	return fmt.Errorf("this build of devcluster has no %s.%s yet (issue 12), so the fault cannot be applied", pkg, method)
}

// liveBalancer plugs the proxy into the fault registry. SetMaint and SetWeight
// are the proxy's; SetDrain, SetFault and ClearFault (issue 12) are found by
// their method sets, as liveProcesses does, until the proxy has them.
type liveBalancer struct{ px *proxy.Proxy }

func (l liveBalancer) SetDrain(id string, on bool) error {
	if p, ok := any(l.px).(interface{ SetDrain(string, bool) error }); ok {
		return p.SetDrain(id, on)
	}
	if !on {
		return nil // nothing can be draining without it: ready has nothing to end
	}
	return notInBuild("proxy", "SetDrain")
}

func (l liveBalancer) SetMaint(id string, on bool) error { return l.px.SetMaint(id, on) }
func (l liveBalancer) SetWeight(id string, w int) error  { return l.px.SetWeight(id, w) }

func (l liveBalancer) Weight(id string) (int, bool) {
	for _, b := range l.px.Stats() {
		if b.ID == id {
			return b.Weight, true
		}
	}
	return 0, false
}

func (l liveBalancer) ClearFault(id, kind string) {
	if p, ok := any(l.px).(interface{ ClearFault(string, string) }); ok {
		p.ClearFault(id, kind)
	}
}
