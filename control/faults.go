package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// Fault kinds, the names of `devcluster fault KIND`. Process faults are the
// supervisor's (SIGKILL, SIGSTOP/SIGCONT of the process group), balancer states
// and HTTP faults the proxy's.
const (
	FaultKill    = "kill"    // SIGKILL now; the restart policy brings it back (instant)
	FaultPause   = "pause"   // SIGSTOP: a hung server that still holds its port
	FaultResume  = "resume"  // SIGCONT: ends pause (instant)
	FaultDrain   = "drain"   // no new requests; sticky clients still served
	FaultMaint   = "maint"   // out of rotation, not checked
	FaultReady   = "ready"   // ends drain and maint (instant)
	FaultWeight  = "weight"  // a live weight (Weight)
	FaultDelay   = "delay"   // Delay ± Jitter before forwarding, on Percent of requests
	FaultFail    = "fail"    // the proxy answers Status instead of the instance, on Percent
	FaultReset   = "reset"   // the client connection is reset mid-response, on Percent
	FaultTimeout = "timeout" // accepted and never answered, on Percent
)

// FaultKinds lists every kind, in the order fault list shows an instance's.
func FaultKinds() []string {
	return []string{FaultKill, FaultPause, FaultResume, FaultDrain, FaultMaint, FaultReady,
		FaultWeight, FaultDelay, FaultFail, FaultReset, FaultTimeout}
}

// Limits of a fault's values, with the reasons: a delay beyond an hour or a
// fault for more than a day is a typo, not a test; weights are HAProxy's.
const (
	MaxFaultDelay = time.Hour
	MaxFaultFor   = 24 * time.Hour
	MaxWeight     = 256
)

// Fault is one fault, as asked (POST /v1/fault) and as active (GET /v1/faults,
// Status.Faults).
//
// In JSON, durations are seconds as numbers (delay_seconds, jitter_seconds,
// for_seconds), as elsewhere in this API.
type Fault struct {
	Instance string        `json:"instance"` // "web.2"
	Kind     string        `json:"kind"`     // one of FaultKinds
	Delay    time.Duration `json:"-"`        // delay: added before forwarding
	Jitter   time.Duration `json:"-"`        // delay: ± this much, uniformly
	// Percent is the share of requests an HTTP fault hits, 0 < p <= 100; 0
	// means every request.
	Percent float64       `json:"percent,omitempty"`
	Status  int           `json:"status,omitempty"` // fail: the status answered; 0 means 503
	Weight  int           `json:"weight,omitempty"` // weight: 1..MaxWeight
	For     time.Duration `json:"-"`                // reverts by itself after this long; 0: until cleared
	Since   time.Time     `json:"since,omitzero"`   // when it started (set by the cluster)
	Until   time.Time     `json:"until,omitzero"`   // when it reverts by itself; zero: until cleared
}

type faultFields Fault

// MarshalJSON adds the durations in seconds and "detail", the fault in words.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		faultFields
		DelaySeconds  float64 `json:"delay_seconds,omitempty"`
		JitterSeconds float64 `json:"jitter_seconds,omitempty"`
		ForSeconds    float64 `json:"for_seconds,omitempty"`
		Detail        string  `json:"detail"`
	}{faultFields(f), f.Delay.Seconds(), f.Jitter.Seconds(), f.For.Seconds(), f.Detail()})
}

// UnmarshalJSON reads the durations back; "detail" is ignored.
func (f *Fault) UnmarshalJSON(data []byte) error {
	v := struct {
		*faultFields
		DelaySeconds  float64 `json:"delay_seconds"`
		JitterSeconds float64 `json:"jitter_seconds"`
		ForSeconds    float64 `json:"for_seconds"`
		Detail        string  `json:"detail"`
	}{faultFields: (*faultFields)(f)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	sec := func(s float64) time.Duration {
		// Saturate rather than overflow, so that 1e300 is refused as too long
		// instead of wrapping to whatever the platform's conversion gives.
		ns := math.Round(s * float64(time.Second))
		if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return math.MaxInt64
		}
		return time.Duration(ns)
	}
	f.Delay, f.Jitter, f.For = sec(v.DelaySeconds), sec(v.JitterSeconds), sec(v.ForSeconds)
	return nil
}

// Instant reports whether the kind is done at once rather than lasting: kill,
// and resume and ready, which end other faults.
func (f Fault) Instant() bool {
	return f.Kind == FaultKill || f.Kind == FaultResume || f.Kind == FaultReady
}

// HTTP reports whether the kind is one the proxy applies to requests.
func (f Fault) HTTP() bool {
	switch f.Kind {
	case FaultDelay, FaultFail, FaultReset, FaultTimeout:
		return true
	}
	return false
}

// Check reports what is wrong with f's shape (not whether its instance
// exists), every problem at once, in words that say what is allowed.
func (f Fault) Check() error {
	known := false
	for _, k := range FaultKinds() {
		known = known || k == f.Kind
	}
	if !known {
		return fmt.Errorf("unknown fault %q (faults: %s)", f.Kind, strings.Join(FaultKinds(), ", "))
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if f.Instance == "" {
		add("%s needs an instance, e.g. web.2", f.Kind)
	}
	if f.Kind == FaultDelay && (f.Delay <= 0 || f.Delay > MaxFaultDelay) {
		add("delay must be above 0 and at most %s, got %s", MaxFaultDelay, f.Delay)
	}
	if f.Jitter != 0 && (f.Kind != FaultDelay || f.Jitter < 0 || f.Jitter > f.Delay) {
		add("jitter is for delay, between 0 and the delay (%s), got %s", f.Delay, f.Jitter)
	}
	if f.Percent != 0 && (!f.HTTP() || !(f.Percent > 0 && f.Percent <= 100)) {
		add("percent is for delay, fail, reset and timeout, above 0 and at most 100, got %g", f.Percent)
	}
	if f.Status != 0 && (f.Kind != FaultFail || f.Status < 200 || f.Status > 599) {
		add("status is for fail, an HTTP status 200..599, got %d", f.Status)
	}
	if (f.Kind == FaultWeight) != (f.Weight != 0) || f.Weight < 0 || f.Weight > MaxWeight {
		add("weight is for weight, 1..%d, got %d", MaxWeight, f.Weight)
	}
	switch {
	case f.For != 0 && f.Instant():
		add("%s is done at once; --for is for faults that last (pause, drain, maint, weight, delay, fail, reset, timeout)", f.Kind)
	case f.For < 0 || f.For > MaxFaultFor:
		add("for must be between 0 (until cleared) and %s, got %s", MaxFaultFor, f.For)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Detail is the fault in a few words, as fault list and the dashboard show
// it: "300ms ±50ms on 20%", "50% → 503", "3"; "" for kinds with no values.
func (f Fault) Detail() string {
	on := ""
	if f.Percent != 0 && f.Percent != 100 {
		on = fmt.Sprintf(" on %g%%", f.Percent)
	}
	switch f.Kind {
	case FaultDelay:
		d := f.Delay.String()
		if f.Jitter > 0 {
			d += " ±" + f.Jitter.String()
		}
		return d + on
	case FaultFail:
		status, pct := f.Status, f.Percent
		if status == 0 {
			status = 503
		}
		if pct == 0 {
			pct = 100
		}
		return fmt.Sprintf("%g%% → %d", pct, status)
	case FaultReset, FaultTimeout:
		return strings.TrimPrefix(on, " ")
	case FaultWeight:
		return fmt.Sprint(f.Weight)
	}
	return ""
}

// String is the fault in one line: "web.3 delay 300ms ±50ms on 20%".
func (f Fault) String() string {
	return strings.TrimSpace(f.Instance + " " + f.Kind + " " + f.Detail())
}

// WriteFaults writes faults as the table of `devcluster fault list` (and the
// lines under `ps`): instance, kind, detail, and how long each has left at
// now. It writes nothing for none.
func WriteFaults(w io.Writer, faults []Fault, now time.Time) error {
	if len(faults) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tFAULT\tDETAIL\tSINCE\tREVERTS")
	for _, f := range faults {
		since := "-"
		if !f.Since.IsZero() {
			since = f.Since.Local().Format("15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Instance, f.Kind, orDash(f.Detail()), since, revertsCell(f, now))
	}
	return tw.Flush()
}

// revertsCell is "in 1m30s" for a fault with an end, "when cleared" without.
func revertsCell(f Fault, now time.Time) string {
	if f.Until.IsZero() {
		return "when cleared"
	}
	left := f.Until.Sub(now)
	if left < time.Second {
		return "now"
	}
	return "in " + formatUptime(left)
}

// Fault endpoints' bodies.
type (
	faultAnswer struct {
		Fault *Fault `json:"fault"` // null for the instant kinds
	}
	faultsAnswer struct {
		Faults []Fault `json:"faults"`
	}
	clearRequest struct {
		Instance string `json:"instance"` // "": every instance
	}
	clearAnswer struct {
		Cleared []Fault `json:"cleared"`
	}
)

func (s *Server) setFault(w http.ResponseWriter, r *http.Request) error {
	var f Fault
	if err := readJSON(r, &f); err != nil {
		return err
	}
	if err := f.Check(); err != nil {
		return WithCode(http.StatusBadRequest, err)
	}
	f.Since, f.Until = time.Time{}, time.Time{} // the cluster's to set
	got, err := s.cluster.SetFault(r.Context(), f)
	if err != nil {
		return err
	}
	var ans faultAnswer
	if got.Kind != "" {
		ans.Fault = &got
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

func (s *Server) listFaults(w http.ResponseWriter, r *http.Request) error {
	faults, err := s.cluster.Faults(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, faultsAnswer{Faults: nonNilFaults(faults)})
	return nil
}

func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) error {
	var req clearRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	cleared, err := s.cluster.ClearFaults(r.Context(), req.Instance)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clearAnswer{Cleared: nonNilFaults(cleared)})
	return nil
}

// nonNilFaults makes none [] rather than null in JSON, for scripts.
func nonNilFaults(f []Fault) []Fault {
	if f == nil {
		return []Fault{}
	}
	return f
}

// SetFault starts a fault (see Cluster.SetFault) and returns it as active, or
// nil for the instant kinds (kill, resume, ready).
func (c *Client) SetFault(ctx context.Context, f Fault) (*Fault, error) {
	var ans faultAnswer
	if err := c.call(ctx, http.MethodPost, "/v1/fault", f, &ans); err != nil {
		return nil, err
	}
	return ans.Fault, nil
}

// Faults lists the active faults.
func (c *Client) Faults(ctx context.Context) ([]Fault, error) {
	var ans faultsAnswer
	err := c.call(ctx, http.MethodGet, "/v1/faults", nil, &ans)
	return ans.Faults, err
}

// ClearFaults ends every fault of instance ("" for all) and returns those ended.
func (c *Client) ClearFaults(ctx context.Context, instance string) ([]Fault, error) {
	var ans clearAnswer
	err := c.call(ctx, http.MethodPost, "/v1/faults/clear", clearRequest{Instance: instance}, &ans)
	return ans.Cleared, err
}
