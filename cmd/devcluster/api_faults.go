package main

import (
	"context"
	"net/http"

	"github.com/devcluster/devcluster/control"
)

// The control API's fault endpoints, handed to the cluster's fault registry.

var errNoFaults = control.Errorf(http.StatusServiceUnavailable, "this cluster runs without its fault registry, so it takes no faults")

func (a *clusterAPI) SetFault(ctx context.Context, f control.Fault) (control.Fault, error) {
	if a.faults == nil {
		return control.Fault{}, errNoFaults
	}
	return a.faults.Set(ctx, f)
}

func (a *clusterAPI) ClearFaults(ctx context.Context, instance string) ([]control.Fault, error) {
	if a.faults == nil {
		return nil, errNoFaults
	}
	return a.faults.Clear(instance)
}

func (a *clusterAPI) Faults(ctx context.Context) ([]control.Fault, error) {
	return a.faultList(), nil
}

// faultList is the registry's list, none without one.
func (a *clusterAPI) faultList() []control.Fault {
	if a.faults == nil {
		return nil
	}
	return a.faults.List()
}
