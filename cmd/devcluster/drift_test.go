package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/signals"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// The packages may not import each other, so some lists exist twice: control names
// the supervisor's instance states for its clients, and every package that accepts
// a setting of the manifest checks it against its own idea of the valid values. Only
// cmd sees both sides; these tests fail when the two drift apart.

// TestInstanceStatesAgree: control's copy of the state names is the supervisor's.
func TestInstanceStatesAgree(t *testing.T) {
	t.Parallel()
	sup, ctl := supervisor.StateNames(), control.States()
	if !slices.Equal(sup, ctl) {
		t.Errorf("instance states: supervisor.StateNames() = %v, control.States() = %v; want the same list", sup, ctl)
	}
}

// TestStrategiesAgree: every strategy the proxy knows is accepted by the manifest
// parser, and by proxy.New; one neither knows is refused by both.
func TestStrategiesAgree(t *testing.T) {
	t.Parallel()
	if !slices.Equal(proxy.Strategies, defaults.Strategies()) {
		t.Errorf("proxy.Strategies = %v, defaults.Strategies() = %v", proxy.Strategies, defaults.Strategies())
	}
	for _, s := range append(slices.Clone(proxy.Strategies), "bogus") {
		want := s != "bogus"
		_, perr := procfile.ParseYAML("devcluster.yaml", strings.NewReader("proxy:\n  strategy: "+s+"\nprocesses:\n  web: sleep 1\n"))
		_, xerr := proxy.New(proxy.Config{Strategy: s})
		if (perr == nil) != want || (xerr == nil) != want {
			t.Errorf("strategy %q: procfile says %v, proxy.New says %v; want both to accept it: %v", s, perr, xerr, want)
		}
	}
}

// TestStickyModesAgree: the manifest's sticky modes are the proxy's.
func TestStickyModesAgree(t *testing.T) {
	t.Parallel()
	for _, s := range append(defaults.StickyModes(), "bogus") {
		want := s != "bogus"
		_, perr := procfile.ParseYAML("devcluster.yaml", strings.NewReader("proxy:\n  sticky: "+s+"\nprocesses:\n  web: sleep 1\n"))
		_, xerr := proxy.New(proxy.Config{Sticky: s})
		if (perr == nil) != want || (xerr == nil) != want {
			t.Errorf("sticky %q: procfile says %v, proxy.New says %v; want both to accept it: %v", s, perr, xerr, want)
		}
	}
}

// TestRestartPoliciesAgree: every restart policy the manifest accepts, the
// supervisor runs.
func TestRestartPoliciesAgree(t *testing.T) {
	t.Parallel()
	for _, r := range append(defaults.RestartPolicies(), "bogus") {
		want := r != "bogus"
		_, perr := procfile.ParseYAML("devcluster.yaml", strings.NewReader("processes:\n  web:\n    command: sleep 1\n    restart: "+r+"\n"))
		_, serr := supervisor.New(supervisor.Config{Specs: []supervisor.InstanceSpec{{Process: "web", Index: 1, Command: "sleep 1", Restart: r}}})
		if (perr == nil) != want || (serr == nil) != want {
			t.Errorf("restart %q: procfile says %v, supervisor.New says %v; want both to accept it: %v", r, perr, serr, want)
		}
	}
}

// TestStopSignalsAgree: every stop_signal the manifest accepts, cmd can send.
func TestStopSignalsAgree(t *testing.T) {
	t.Parallel()
	for _, name := range append(signals.Names(), "BOGUS") {
		want := name != "BOGUS"
		_, perr := procfile.ParseYAML("devcluster.yaml", strings.NewReader("processes:\n  web:\n    command: sleep 1\n    stop_signal: "+name+"\n"))
		_, cerr := cluster.ParseSignal(name)
		if (perr == nil) != want || (cerr == nil) != want {
			t.Errorf("stop_signal %q: procfile says %v, cmd says %v; want both to accept it: %v", name, perr, cerr, want)
		}
	}
}
