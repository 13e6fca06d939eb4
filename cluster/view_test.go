package cluster

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

func TestJoin(t *testing.T) {
	t.Parallel()
	statuses := []supervisor.InstanceStatus{
		{ID: "web.1", Process: "web", PID: 10, State: "ready"},
		{ID: "web.2", Process: "web", PID: 11, State: "ready"},
		{ID: "worker.1", Process: "worker", PID: 12, State: "ready"},
	}
	stats := []proxy.BackendStats{{ID: "web.2", State: "maint"}, {ID: "web.1", State: "up", Requests: 7}}
	faults := []control.Fault{
		{Instance: "web.2", Kind: control.FaultMaint},
		{Instance: "web.2", Kind: control.FaultDelay, Delay: time.Second},
		{Instance: "worker.1", Kind: control.FaultPause},
	}
	got := Join(statuses, stats, faults)
	if len(got) != 3 {
		t.Fatalf("got %d instances, want 3, one per status", len(got))
	}
	for i, want := range []string{"web.1", "web.2", "worker.1"} {
		if got[i].ID != want {
			t.Errorf("instance %d: got %s, want %s (the supervisor's order)", i, got[i].ID, want)
		}
	}
	if b := got[0].Backend; b == nil || b.State != "up" || b.Requests != 7 {
		t.Errorf("web.1: got backend %+v, want its own stats (up, 7 requests)", b)
	}
	if b := got[1].Backend; b == nil || b.State != "maint" {
		t.Errorf("web.2: got backend %+v, want maint", b)
	}
	if got[2].Backend != nil {
		t.Errorf("worker.1: got backend %+v, want nil (not balanced)", got[2].Backend)
	}
	if fs := got[1].Faults; len(fs) != 2 || fs[0].Kind != control.FaultMaint || fs[1].Kind != control.FaultDelay {
		t.Errorf("web.2: got faults %v, want maint then delay", fs)
	}
	if len(got[0].Faults) != 0 {
		t.Errorf("web.1: got faults %v, want none", got[0].Faults)
	}
}

// TestPsAndDashboardShowOnePausedState: ps (control.WriteTable over the API's
// Status) and the dashboard read the one joined view, so a paused instance is
// paused in both whether the supervisor or the fault registry says so. The
// dashboard's own join used to add "paused" from the registry's faults, which
// ps did not read.
func TestPsAndDashboardShowOnePausedState(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		supPaused  bool
		pauseFault bool
		want       string
	}{
		{"running", false, false, "ready"},
		{"paused by the supervisor's account", true, false, "paused"},
		{"paused fault held by the registry", false, true, "paused"},
		{"both", true, true, "paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := supervisor.InstanceStatus{ID: "web.1", Process: "web", Index: 1, Port: 5000, PID: 10, State: "ready", Since: t0, Paused: tt.supPaused}
			var faults []control.Fault
			if tt.pauseFault {
				faults = append(faults, control.Fault{Instance: "web.1", Kind: control.FaultPause, Since: t0})
			}
			in := Join([]supervisor.InstanceStatus{st}, []proxy.BackendStats{{ID: "web.1", State: "up"}}, faults)[0]

			if got := dashboardInstance(in, t0.Add(time.Minute)).State; got != tt.want {
				t.Errorf("dashboard: got state %q, want %q", got, tt.want)
			}
			ci := controlInstance(in)
			if ci.State != "ready" {
				t.Errorf("ps: got State %q, want ready (a paused process keeps its port)", ci.State)
			}
			var table bytes.Buffer
			if err := control.WriteTable(&table, control.Status{Instances: []control.Instance{ci}}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), "\nweb.1     "+tt.want+" ") {
				t.Errorf("ps: got table\n%s\nwant web.1 %s", table.String(), tt.want)
			}
		})
	}
}
