package cluster

import (
	"context"
	"net/http"

	"github.com/devcluster/devcluster/control"
)

// The control API's fault endpoints, handed to the cluster's fault registry.

// ErrNoFaults is what a cluster built without a fault registry answers to a fault.
var ErrNoFaults = control.Errorf(http.StatusServiceUnavailable, "this cluster runs without its fault registry, so it takes no faults")

func (a *API) SetFault(ctx context.Context, f control.Fault) (control.Fault, error) {
	if a.cfg.Faults == nil {
		return control.Fault{}, ErrNoFaults
	}
	return a.cfg.Faults.Set(ctx, f)
}

func (a *API) ClearFaults(ctx context.Context, instance string) ([]control.Fault, error) {
	if a.cfg.Faults == nil {
		return nil, ErrNoFaults
	}
	return a.cfg.Faults.Clear(instance)
}

func (a *API) Faults(ctx context.Context) ([]control.Fault, error) {
	if a.cfg.Faults == nil {
		return nil, nil
	}
	return a.cfg.Faults.List(), nil
}
