package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFaultRoundTrip(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.fake.mu.Lock()
	s.fake.faultNow = t0
	s.fake.mu.Unlock()
	ctx := context.Background()

	delay := Fault{Instance: "web.3", Kind: FaultDelay, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Percent: 20, For: 2 * time.Second}
	got, err := s.client.SetFault(ctx, delay)
	if err != nil {
		t.Fatalf("SetFault: %v", err)
	}
	want := delay
	want.Since, want.Until = t0, t0.Add(2*time.Second)
	if got == nil || !faultEqual(*got, want) {
		t.Fatalf("got fault %+v, want %+v", got, want)
	}
	if calls := s.fake.Calls(); calls[len(calls)-1] != "fault web.3 delay 300ms ±50ms on 20%" {
		t.Errorf("got call %q, want the delay with every value", calls[len(calls)-1])
	}

	if got, err := s.client.SetFault(ctx, Fault{Instance: "web.2", Kind: FaultKill}); err != nil || got != nil {
		t.Errorf("kill: got %+v, %v; want nil fault (instant), nil error", got, err)
	}
	if _, err := s.client.SetFault(ctx, Fault{Instance: "web.1", Kind: FaultFail, Percent: 50, Status: 502}); err != nil {
		t.Fatalf("SetFault fail: %v", err)
	}

	list, err := s.client.Faults(ctx)
	if err != nil {
		t.Fatalf("Faults: %v", err)
	}
	if len(list) != 2 || !faultEqual(list[0], want) || list[1].Kind != FaultFail || list[1].Status != 502 || list[1].Percent != 50 {
		t.Errorf("got list %+v, want the delay then the fail", list)
	}

	cleared, err := s.client.ClearFaults(ctx, "web.3")
	if err != nil {
		t.Fatalf("ClearFaults: %v", err)
	}
	if len(cleared) != 1 || cleared[0].Instance != "web.3" {
		t.Errorf("got cleared %+v, want web.3's delay", cleared)
	}
	cleared, err = s.client.ClearFaults(ctx, "")
	if err != nil || len(cleared) != 1 || cleared[0].Instance != "web.1" {
		t.Errorf("clear all: got %+v, %v; want web.1's fail", cleared, err)
	}
	list, err = s.client.Faults(ctx)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("got %#v, %v after clearing all, want an empty list", list, err)
	}
}

func faultEqual(a, b Fault) bool {
	return a.Instance == b.Instance && a.Kind == b.Kind && a.Delay == b.Delay && a.Jitter == b.Jitter &&
		a.Percent == b.Percent && a.Status == b.Status && a.Weight == b.Weight && a.For == b.For &&
		a.Since.Equal(b.Since) && a.Until.Equal(b.Until)
}

func TestStatusCarriesFaults(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	st, err := s.client.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Faults == nil {
		t.Errorf("got nil Faults, want [] (the server sends [] for none)")
	}
	s.fake.mu.Lock()
	s.fake.status.Faults = []Fault{{Instance: "web.2", Kind: FaultPause}}
	s.fake.status.Dashboard = "http://127.0.0.1:8080/_devcluster/?token=t"
	s.fake.mu.Unlock()
	st, err = s.client.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(st.Faults) != 1 || st.Faults[0].Kind != FaultPause || st.Dashboard != "http://127.0.0.1:8080/_devcluster/?token=t" {
		t.Errorf("got faults %+v and dashboard %q, want web.2's pause and the URL", st.Faults, st.Dashboard)
	}
}

func TestFaultRefusedBeforeCluster(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	tests := []struct {
		name string
		f    Fault
		want string
	}{
		{"unknown kind", Fault{Instance: "web.1", Kind: "slow"}, `unknown fault "slow" (faults: kill, pause, resume, drain, maint, ready, weight, delay, fail, reset, timeout)`},
		{"no instance", Fault{Kind: FaultPause}, "pause needs an instance, e.g. web.2"},
		{"no delay", Fault{Instance: "web.1", Kind: FaultDelay}, "delay must be above 0 and at most 1h0m0s, got 0s"},
		{"jitter above delay", Fault{Instance: "web.1", Kind: FaultDelay, Delay: time.Millisecond, Jitter: time.Second},
			"jitter is for delay, between 0 and the delay (1ms), got 1s"},
		{"percent above 100", Fault{Instance: "web.1", Kind: FaultFail, Percent: 150},
			"percent is for delay, fail, reset and timeout, above 0 and at most 100, got 150"},
		{"percent on pause", Fault{Instance: "web.1", Kind: FaultPause, Percent: 50},
			"percent is for delay, fail, reset and timeout, above 0 and at most 100, got 50"},
		{"status out of range", Fault{Instance: "web.1", Kind: FaultFail, Status: 99}, "status is for fail, an HTTP status 200..599, got 99"},
		{"weight missing", Fault{Instance: "web.1", Kind: FaultWeight}, "weight is for weight, 1..256, got 0"},
		{"weight too big", Fault{Instance: "web.1", Kind: FaultWeight, Weight: 300}, "weight is for weight, 1..256, got 300"},
		{"for on kill", Fault{Instance: "web.1", Kind: FaultKill, For: time.Second},
			"kill is done at once; --for is for faults that last (pause, drain, maint, weight, delay, fail, reset, timeout)"},
		{"for too long", Fault{Instance: "web.1", Kind: FaultMaint, For: 48 * time.Hour}, "for must be between 0 (until cleared) and 24h0m0s, got 48h0m0s"},
		{"every problem at once", Fault{Kind: FaultDelay, Status: 503},
			"delay needs an instance, e.g. web.2; delay must be above 0 and at most 1h0m0s, got 0s; status is for fail, an HTTP status 200..599, got 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.fake.Calls())
			_, err := s.client.SetFault(context.Background(), tt.f)
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != 400 || ce.Msg != tt.want {
				t.Errorf("got %v, want 400 %q", err, tt.want)
			}
			if calls := s.fake.Calls(); len(calls) != before {
				t.Errorf("got calls %q, want the cluster not asked", calls[before:])
			}
		})
	}
}

func TestFaultJSON(t *testing.T) {
	t.Parallel()
	f := Fault{Instance: "web.3", Kind: FaultDelay, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, For: 90 * time.Second}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"delay_seconds":0.3`, `"jitter_seconds":0.05`, `"for_seconds":90`, `"detail":"300ms ±50ms"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("got %s, want it to contain %s", b, want)
		}
	}
	var back Fault
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !faultEqual(back, f) {
		t.Errorf("got %+v back, want %+v", back, f)
	}
}

func TestFaultDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Fault
		want string
	}{
		{Fault{Instance: "web.3", Kind: FaultDelay, Delay: 300 * time.Millisecond}, "web.3 delay 300ms"},
		{Fault{Instance: "web.3", Kind: FaultDelay, Delay: time.Second, Jitter: 50 * time.Millisecond, Percent: 20}, "web.3 delay 1s ±50ms on 20%"},
		{Fault{Instance: "web.1", Kind: FaultFail}, "web.1 fail 100% → 503"},
		{Fault{Instance: "web.1", Kind: FaultFail, Percent: 50, Status: 502}, "web.1 fail 50% → 502"},
		{Fault{Instance: "web.1", Kind: FaultReset, Percent: 10}, "web.1 reset on 10%"},
		{Fault{Instance: "web.1", Kind: FaultTimeout}, "web.1 timeout"},
		{Fault{Instance: "web.2", Kind: FaultWeight, Weight: 3}, "web.2 weight 3"},
		{Fault{Instance: "web.2", Kind: FaultPause}, "web.2 pause"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestWriteFaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.Local)
	var b bytes.Buffer
	err := WriteFaults(&b, []Fault{
		{Instance: "web.2", Kind: FaultPause, Since: now.Add(-time.Minute)},
		{Instance: "web.3", Kind: FaultDelay, Delay: 300 * time.Millisecond, Since: now, Until: now.Add(90 * time.Second)},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := `INSTANCE  FAULT  DETAIL  SINCE     REVERTS
web.2     pause  -       11:59:00  when cleared
web.3     delay  300ms   12:00:00  in 1m30s
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	WriteFaults(&b, nil, now)
	if b.Len() != 0 {
		t.Errorf("got %q for no faults, want nothing", b.String())
	}
}

func TestTableListsFaultsUnderneath(t *testing.T) {
	t.Parallel()
	st := Status{PID: 1, Manifest: "Procfile", Instances: []Instance{{ID: "web.1", State: StateReady}}}
	var b bytes.Buffer
	WriteTable(&b, st)
	if strings.Contains(b.String(), "fault") {
		t.Errorf("got %q, want no fault lines without faults", b.String())
	}
	st.Faults = []Fault{{Instance: "web.1", Kind: FaultMaint}}
	b.Reset()
	WriteTable(&b, st)
	if !strings.Contains(b.String(), "\nactive faults (devcluster fault clear ends them):\nINSTANCE  FAULT  DETAIL  SINCE  REVERTS\nweb.1     maint  -       -      when cleared\n") {
		t.Errorf("got\n%s\nwant the fault under the table", b.String())
	}
}

func TestTableShowsPaused(t *testing.T) {
	t.Parallel()
	st := Status{PID: 1, Manifest: "Procfile", Instances: []Instance{
		{ID: "web.1", State: StateReady, PID: 10},
		{ID: "web.2", State: StateReady, PID: 11, Paused: true},
	}}
	var b bytes.Buffer
	WriteTable(&b, st)
	if !strings.Contains(b.String(), "\nweb.1     ready   10 ") || !strings.Contains(b.String(), "\nweb.2     paused  11 ") {
		t.Errorf("got\n%s\nwant web.2 paused, web.1 ready", b.String())
	}
}
