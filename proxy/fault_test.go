package proxy

import (
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// requestLog records what Config.OnRequest hands over.
type requestLog struct {
	mu   sync.Mutex
	reqs []RequestInfo
}

func (l *requestLog) record(ri RequestInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, ri)
}

func (l *requestLog) all() []RequestInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RequestInfo(nil), l.reqs...)
}

// nth waits for the n-th reported request (the hook runs after the client
// has its response) and returns it.
func (l *requestLog) nth(t *testing.T, n int) RequestInfo {
	t.Helper()
	tstest.WaitFor(t, 5*time.Second, "the request reported", func() bool { return len(l.all()) >= n })
	return l.all()[n-1]
}

// countingBackend is a backend that counts its requests.
func countingBackend(t *testing.T, tp *testProxy, id string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	b := startBackend(t, id, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, id+" "+strings.Repeat("x", 100))
	})
	tp.Enable(id, b.Addr)
	return &n
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func TestDelayFaultSlowsOnlyThatInstance(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record})
	startWeb(t, tp, 3)
	if err := tp.SetFault("web.3", Fault{Kind: FaultDelay, Delay: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	took := map[string][]time.Duration{}
	for range 9 {
		start := time.Now()
		status, inst, _ := get(t, c, tp.URL+"/")
		if status != 200 {
			t.Fatalf("got status %d, want 200", status)
		}
		took[inst] = append(took[inst], time.Since(start))
	}
	for _, d := range took["web.3"] {
		if d < 300*time.Millisecond {
			t.Errorf("web.3 answered in %v, want at least the 300ms delay", d)
		}
	}
	// Not a latency limit (the race detector on a busy machine may take 100 ms for
	// a loopback GET): web.1 and web.2 are not delayed when their median stays
	// under the delay itself; the request log's decisions below say which were.
	for _, id := range []string{"web.1", "web.2"} {
		if m := median(took[id]); m >= 300*time.Millisecond {
			t.Errorf("%s: median %v, want under web.3's 300ms delay (the delay is on web.3 only)", id, m)
		}
	}
	for i := 1; i <= 9; i++ {
		ri := log.nth(t, i)
		want := ""
		if ri.Instance == "web.3" {
			want = "fault: delay 300ms"
		}
		if ri.Decision != want {
			t.Errorf("%s: got decision %q, want %q", ri.Instance, ri.Decision, want)
		}
	}
	tp.ClearFault("web.3", FaultDelay)
	for range 3 {
		get(t, c, tp.URL+"/")
	}
	for i := 10; i <= 12; i++ {
		if ri := log.nth(t, i); ri.Decision != "" {
			t.Errorf("after ClearFault: %s got decision %q, want none", ri.Instance, ri.Decision)
		}
	}
}

func TestFailFaultHitsItsShare(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record})
	n1 := countingBackend(t, tp, "web.1")
	n2 := countingBackend(t, tp, "web.2")
	if err := tp.SetFault("web.2", Fault{Kind: FaultFail, Percent: 50}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	failed := 0
	for range 400 {
		status, inst, body := get(t, c, tp.URL+"/")
		switch {
		case status == 503 && inst == "web.2":
			failed++
			if !strings.Contains(body, "fault: fail 503") {
				t.Fatalf("got body %q, want it to name the fault", body)
			}
		case status != 200:
			t.Fatalf("got %d from %q, want 200, or 503 from web.2", status, inst)
		}
	}
	if failed < 80 || failed > 120 {
		t.Errorf("got %d of web.2's 200 requests failed, want 40-60%%", failed)
	}
	if got := n2.Load(); got != int64(200-failed) {
		t.Errorf("web.2 saw %d requests, want %d (a failed one never reaches it)", got, 200-failed)
	}
	if got := n1.Load(); got != 200 {
		t.Errorf("web.1 saw %d requests, want 200", got)
	}
	log.nth(t, 400)
	var fives int
	for _, ri := range log.all() {
		if ri.Status == 503 {
			fives++
			if ri.Instance != "web.2" || ri.Decision != "fault: fail 503" {
				t.Errorf("a failed request reported as %s %q, want web.2 \"fault: fail 503\"", ri.Instance, ri.Decision)
			}
		}
	}
	if fives != failed {
		t.Errorf("OnRequest saw %d 503s, want %d", fives, failed)
	}
}

// With retry_on 503, a fail 503 is retried as an instance's own 503 is.
func TestFailFaultRetriedUnderRetryOn503(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record, RetryOn: []string{"conn-failure", "503"}})
	startWeb(t, tp, 2)
	tp.SetFault("web.1", Fault{Kind: FaultFail})
	c := newClient(t)
	for range 4 {
		if status, inst, _ := get(t, c, tp.URL+"/"); status != 200 || inst != "web.2" {
			t.Fatalf("got %d from %s, want 200 from web.2", status, inst)
		}
	}
	ri := log.nth(t, 1)
	if ri.Retries != 1 || ri.Decision != "fault: fail 503; retried from web.1: 503" {
		t.Errorf("got retries %d, decision %q; want 1, \"fault: fail 503; retried from web.1: 503\"", ri.Retries, ri.Decision)
	}
	log.nth(t, 4)
	retried := 0
	for _, ri := range log.all() {
		retried += ri.Retries
	}
	if got := statsOf(tp.Proxy, "web.1").Retries; got != uint64(retried) || got == 0 {
		t.Errorf("web.1 Stats.Retries: got %d, want %d (the requests retried from it)", got, retried)
	}
}

func TestResetFaultResetsClient(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record})
	n := countingBackend(t, tp, "web.1")
	tp.SetFault("web.1", Fault{Kind: FaultReset})
	c := newClient(t)
	resp, err := c.Get(tp.URL + "/")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %v, want a connection reset", err)
	}
	if n.Load() != 1 {
		t.Errorf("the instance saw %d requests, want 1 (the reset is mid-response)", n.Load())
	}
	if ri := log.nth(t, 1); ri.ErrorClass != ErrorReset || ri.Decision != "fault: reset" || ri.Instance != "web.1" {
		t.Errorf("reported %s %q %q, want web.1, reset, \"fault: reset\"", ri.Instance, ri.ErrorClass, ri.Decision)
	}
	tp.ClearFaults()
	if status, _, _ := get(t, c, tp.URL+"/"); status != 200 {
		t.Errorf("after ClearFaults: got %d, want 200", status)
	}
}

func TestTimeoutFaultAnswers504(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{OnRequest: log.record, ResponseTimeout: 200 * time.Millisecond})
	n := countingBackend(t, tp, "web.1")
	tp.SetFault("web.1", Fault{Kind: FaultTimeout})
	c := newClient(t)
	if status, inst, _ := get(t, c, tp.URL+"/"); status != 504 || inst != "web.1" {
		t.Errorf("got %d from %q, want 504 from web.1", status, inst)
	}
	if n.Load() != 0 {
		t.Errorf("the instance saw %d requests, want 0", n.Load())
	}
	ri := log.nth(t, 1)
	if ri.ErrorClass != ErrorTimeout || ri.Status != 504 || ri.Duration < 200*time.Millisecond {
		t.Errorf("reported %q %d after %v, want timeout 504 after at least 200ms", ri.ErrorClass, ri.Status, ri.Duration)
	}
	if st := statsOf(tp.Proxy, "web.1"); !strings.Contains(st.LastError, "fault: timeout") {
		t.Errorf("LastError %q, want it to name the fault", st.LastError)
	}
}

func TestFaultsListAndClear(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 2)
	tp.SetFault("web.1", Fault{Kind: FaultDelay, Delay: time.Second, Jitter: 100 * time.Millisecond})
	tp.SetFault("web.1", Fault{Kind: FaultDelay, Delay: 2 * time.Second}) // replaces
	tp.SetFault("web.1", Fault{Kind: FaultFail, Percent: 10, Status: 500})
	tp.SetFault("web.2", Fault{Kind: FaultReset})
	got := tp.Faults()
	want := map[string][]Fault{
		"web.1": {{Kind: FaultDelay, Delay: 2 * time.Second, Percent: 100}, {Kind: FaultFail, Percent: 10, Status: 500}},
		"web.2": {{Kind: FaultReset, Percent: 100}},
	}
	if !faultsEqual(got, want) {
		t.Fatalf("Faults: got %v, want %v", got, want)
	}
	if st := statsOf(tp.Proxy, "web.1"); len(st.Faults) != 2 {
		t.Errorf("Stats web.1 Faults: got %v, want 2", st.Faults)
	}
	tp.ClearFault("web.1", FaultDelay)
	if got := tp.Faults()["web.1"]; len(got) != 1 || got[0].Kind != FaultFail {
		t.Errorf("after ClearFault delay: got %v, want the fail only", got)
	}
	tp.ClearFault("web.1", "")
	if _, ok := tp.Faults()["web.1"]; ok {
		t.Errorf("after ClearFault \"\": web.1 still has %v", tp.Faults()["web.1"])
	}
	tp.ClearFaults()
	if got := tp.Faults(); len(got) != 0 {
		t.Errorf("after ClearFaults: got %v, want none", got)
	}
	if tp.faults.Load() != nil {
		t.Error("after ClearFaults the fault table is not nil: every request would look it up")
	}
}

func faultsEqual(a, b map[string][]Fault) bool {
	if len(a) != len(b) {
		return false
	}
	for k, fa := range a {
		fb := b[k]
		if len(fa) != len(fb) {
			return false
		}
		for i := range fa {
			if fa[i] != fb[i] {
				return false
			}
		}
	}
	return true
}

func TestSetFaultRefusesBadFaults(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 1)
	for _, tt := range []struct {
		id   string
		f    Fault
		want string
	}{
		{"web.9", Fault{Kind: FaultReset}, `no instance "web.9"`},
		{"web.1", Fault{Kind: "slow"}, `unknown fault kind "slow"`},
		{"web.1", Fault{Kind: FaultDelay}, "want a positive duration"},
		{"web.1", Fault{Kind: FaultDelay, Delay: time.Second, Jitter: -1}, "jitter"},
		{"web.1", Fault{Kind: FaultFail, Percent: 150}, "at most 100"},
		{"web.1", Fault{Kind: FaultFail, Percent: -5}, "more than 0"},
		{"web.1", Fault{Kind: FaultFail, Status: 99}, "want 200 to 599"},
		{"web.1", Fault{Kind: FaultReset, Status: 503}, "takes no status"},
		{"web.1", Fault{Kind: FaultTimeout, Delay: time.Second}, "takes no delay"},
	} {
		err := tp.SetFault(tt.id, tt.f)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetFault(%s, %+v): got %v, want an error with %q", tt.id, tt.f, err, tt.want)
		}
	}
	if len(tp.Faults()) != 0 {
		t.Errorf("refused faults were set: %v", tp.Faults())
	}
}

// headerEcho answers with the X-Devcluster-Fault header it got, if any.
func headerEcho(t *testing.T, tp *testProxy) {
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fault header: "+r.Header.Get("X-Devcluster-Fault"))
	})
	tp.Enable("web.1", b.Addr)
}

func getWithHeader(t *testing.T, c *http.Client, url, k, v string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set(k, v)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestFaultHeadersHonouredWhenOn(t *testing.T) {
	t.Parallel()
	var log requestLog
	tp := startProxy(t, Config{FaultHeaders: true, OnRequest: log.record})
	headerEcho(t, tp)
	c := newClient(t)
	if status, body := getWithHeader(t, c, tp.URL+"/", "X-Devcluster-Fault", "fail=418"); status != 418 {
		t.Errorf("fail=418: got %d %q, want 418", status, body)
	}
	status, body := getWithHeader(t, c, tp.URL+"/", "X-Devcluster-Fault", "delay=200ms")
	if status != 200 || body != "fault header: " {
		t.Errorf("delay=200ms: got %d %q, want 200 and no X-Devcluster-Fault at the instance", status, body)
	}
	if ri := log.nth(t, 2); ri.Decision != "fault: delay 200ms" || ri.Duration < 200*time.Millisecond {
		t.Errorf("delay=200ms: reported %q after %v, want \"fault: delay 200ms\" after at least 200ms", ri.Decision, ri.Duration)
	}
	if status, body := getWithHeader(t, c, tp.URL+"/", "X-Devcluster-Fault", "slow=1s"); status != 400 || !strings.Contains(body, "want delay=200ms") {
		t.Errorf("slow=1s: got %d %q, want 400 saying what is accepted", status, body)
	}
}

func TestFaultHeadersStrippedWhenOff(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	headerEcho(t, tp)
	c := newClient(t)
	status, body := getWithHeader(t, c, tp.URL+"/", "X-Devcluster-Fault", "fail=503")
	if status != 200 || body != "fault header: " {
		t.Errorf("got %d %q, want 200 and no X-Devcluster-Fault at the instance", status, body)
	}
}

// The faults of a restarted instance stay until cleared.
func TestFaultKeptAcrossEnable(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	bs := startWeb(t, tp, 1)
	tp.SetFault("web.1", Fault{Kind: FaultFail, Status: 500})
	tp.Enable("web.1", bs[0].Addr)
	if status, _, _ := get(t, newClient(t), tp.URL+"/"); status != 500 {
		t.Errorf("got %d, want the fault's 500", status)
	}
}

// A timeout fault is a hung instance to the proxy: stall detection confirms it
// (its HTTP check goes unanswered too), takes it out of rotation, and it comes
// back once the fault is cleared.
func TestTimeoutFaultTakesInstanceOutLikeAHang(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{ResponseTimeout: 3 * time.Second, StallTimeout: 200 * time.Millisecond, Strategy: "first"})
	startWeb(t, tp, 2)
	tp.SetFault("web.1", Fault{Kind: FaultTimeout})
	cl := newClient(t)
	held := make(chan response, 1)
	go func() { held <- fetch(cl, tp.URL+"/") }() // strategy first: to web.1
	tstest.WaitFor(t, 10*time.Second, "web.1 down", func() bool { return statsOf(tp.Proxy, "web.1").State == "down" })
	if s := statsOf(tp.Proxy, "web.1"); !strings.Contains(s.LastCheckResult, "fault: timeout") {
		t.Errorf("got last check %q, want the unanswered check to name the fault", s.LastCheckResult)
	}
	if code, id, _ := get(t, cl, tp.URL+"/"); code != 200 || id != "web.2" {
		t.Errorf("while web.1 is held: got %d from %s, want 200 from web.2", code, id)
	}
	if code := (<-held).must(t).code; code != http.StatusGatewayTimeout {
		t.Errorf("the held request: got %d, want 504", code)
	}
	tp.ClearFaults()
	tstest.WaitFor(t, 10*time.Second, "web.1 up again", func() bool { return statsOf(tp.Proxy, "web.1").State == "up" })
}
