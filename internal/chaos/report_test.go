package chaos

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// soakEvents: web.2 SIGKILLed at 1 s with 7 requests in flight; web.3 paused 3-6 s.
func soakEvents() []event {
	return []event{
		{kind: Kill, target: "web.2", pid: 100, start: at(1000), end: at(1000), done: at(1500), inFlight: 7},
		{kind: Pause, target: "web.3", pid: 200, start: at(3000), end: at(6000), done: at(6000)},
		{kind: Reload, target: "chaos-1", start: at(8000), end: at(10000), done: at(10000)},
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  record
		want string // the count it lands in
	}{
		{"502 in flight on the killed instance", record{start: at(900), end: at(1010), status: 502, instance: "web.2"}, "kill"},
		{"502 sent just after the kill, before the process died", record{start: at(1200), end: at(1210), status: 502, instance: "web.2"}, "kill"},
		{"502 sent long after the kill", record{start: at(2000), end: at(2010), status: 502, instance: "web.2"}, "other"},
		{"502 sent 300 ms after the kill", record{start: at(1300), end: at(1310), status: 502, instance: "web.2"}, "other"},
		{"502 that ended before the kill", record{start: at(800), end: at(990), status: 502, instance: "web.2"}, "other"},
		{"502 from another instance at the kill", record{start: at(900), end: at(1010), status: 502, instance: "web.1"}, "other"},
		{"503 from the killed instance", record{start: at(900), end: at(1010), status: 503, instance: "web.2"}, "other"},
		{"504 held by the paused instance", record{start: at(2900), end: at(6000), status: 504, instance: "web.3"}, "pause"},
		{"502 sent during the pause", record{start: at(5000), end: at(6100), status: 502, instance: "web.3"}, "pause"},
		{"504 from the paused instance after its grace", record{start: at(7500), end: at(7600), status: 504, instance: "web.3"}, "other"},
		{"504 from another instance during the pause", record{start: at(4000), end: at(4100), status: 504, instance: "web.1"}, "other"},
		{"500 from the paused instance", record{start: at(4000), end: at(6100), status: 500, instance: "web.3"}, "other"},
		{"502 during a reload", record{start: at(9000), end: at(9010), status: 502, instance: "web.1"}, "other"},
		{"transport error at the kill", record{start: at(900), end: at(1010), err: "EOF"}, "transport"},
		{"body of the killed instance cut at the kill", record{start: at(990), end: at(1001), instance: "web.2", err: "200 OK, then EOF", cut: true}, "cut"},
		{"body of another instance cut at the kill", record{start: at(990), end: at(1001), instance: "web.1", err: "200 OK, then EOF", cut: true}, "transport"},
		{"body of the killed instance cut long after", record{start: at(3000), end: at(3001), instance: "web.2", err: "200 OK, then EOF", cut: true}, "transport"},
		{"body of the paused instance cut", record{start: at(4000), end: at(4001), instance: "web.3", err: "200 OK, then EOF", cut: true}, "transport"},
		{"2xx from the wrong instance", record{start: at(100), end: at(110), status: 200, instance: "web.1", err: "wrong"}, "wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Report{Clients: 50, ByStatus: map[int]int64{}}
			r.classify([]record{tt.rec}, soakEvents())
			got := map[string]int64{"kill": r.CaughtByKill, "cut": r.CutByKill, "pause": r.CaughtByPause, "other": r.OtherNon2xx,
				"transport": r.TransportErrors, "wrong": r.WrongBodies}
			for k, n := range got {
				want := int64(0)
				if k == tt.want {
					want = 1
				}
				if n != want {
					t.Errorf("%s count: got %d, want %d", k, n, want)
				}
			}
			if (tt.want == "kill" || tt.want == "cut" || tt.want == "pause") != (len(r.Unexplained) == 0) {
				t.Errorf("unexplained: got %q, want a line exactly when the request misses the target", r.Unexplained)
			}
		})
	}
}

// TestClassifyBounds: a kill explains at most the requests in flight at its SIGKILL, a
// pause at most one request per client; beyond that the soak fails.
func TestClassifyBounds(t *testing.T) {
	t.Parallel()
	var recs []record
	for range 8 { // one more than the 7 in flight at the kill
		recs = append(recs, record{start: at(900), end: at(1010), status: 502, instance: "web.2"})
	}
	for range 3 { // one more than the 2 clients
		recs = append(recs, record{start: at(2900), end: at(6000), status: 504, instance: "web.3"})
	}
	r := &Report{Clients: 2, ByStatus: map[int]int64{}}
	r.classify(recs, soakEvents())
	if r.CaughtByKill != 8 || r.CaughtByPause != 3 {
		t.Fatalf("caught: got kill %d, pause %d, want 8, 3", r.CaughtByKill, r.CaughtByPause)
	}
	wantProblems := []string{
		"kill of web.2 (pid 100): 8 requests failed, more than the 7 in flight at the SIGKILL",
		"pause of web.3: 3 requests failed, more than the 2 clients",
	}
	if strings.Join(r.Problems, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("problems:\ngot  %q\nwant %q", r.Problems, wantProblems)
	}
	if got := r.ByStatus; got[502] != 8 || got[504] != 3 || len(got) != 2 {
		t.Errorf("by status: got %v, want 502:8 504:3", got)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	pass := func() *Report {
		return &Report{Sent: 10, OK: 10, MinRequests: 10, Clients: 50, ByStatus: map[int]int64{}, Wanted: Actions(),
			Actions: map[string]int{Kill: 1, Pause: 1, Reload: 1, Scale: 1, Restart: 1}}
	}
	tests := []struct {
		name   string
		change func(r *Report)
		want   string // "" for a pass
	}{
		{"all good", func(r *Report) {}, ""},
		{"caught ones do not fail", func(r *Report) { r.CaughtByKill, r.CaughtByPause = 3, 4 }, ""},
		{"transport error", func(r *Report) { r.TransportErrors = 1 }, "1 transport errors (want 0)"},
		{"other non-2xx", func(r *Report) { r.OtherNon2xx = 2 }, "2 non-2xx responses not caught by a kill or a pause (want 0)"},
		{"wrong body", func(r *Report) { r.WrongBodies = 1 }, "1 2xx responses from another instance than X-Devcluster-Instance says (want 0)"},
		{"no scale", func(r *Report) { delete(r.Actions, Scale) }, "no scale was done (want each action at least once)"},
		{"too few requests", func(r *Report) { r.MinRequests = 11 }, "10 requests sent, want at least 11"},
		{"unclean stop", func(r *Report) { r.Stop.ExitErr = "exit status 1" }, "devcluster up did not stop cleanly on SIGINT: exit status 1"},
		{"leftover", func(r *Report) { r.Stop.Leftovers = []string{"port 24001 is still in use"} }, "left behind after the stop: port 24001 is still in use"},
		{"problem", func(r *Report) { r.Problems = []string{"kill web.1: not back"} }, "kill web.1: not back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := pass()
			tt.change(r)
			got := strings.Join(r.Failures(), "\n")
			if got != tt.want {
				t.Errorf("failures: got %q, want %q", got, tt.want)
			}
			var out bytes.Buffer
			r.Write(&out)
			if wantPass := tt.want == ""; strings.Contains(out.String(), "\nPASS:") != wantPass {
				t.Errorf("report says PASS: %v, want %v:\n%s", !wantPass, wantPass, out.String())
			}
		})
	}
}

func TestWrongBody(t *testing.T) {
	t.Parallel()
	tests := []struct{ instance, body, want string }{
		{"web.2", "Hello from web.2 (pid 12, port 5001, v1)\n", ""},
		{"web.2", "Hello from web.12 (pid 12, port 5011, v1)\n", `X-Devcluster-Instance web.2 but the body says "Hello from web.12 (pid 12, port 5011, v1)"`},
		{"web.1", "Hello from web.12 (pid 12, port 5011, v1)\n", `X-Devcluster-Instance web.1 but the body says "Hello from web.12 (pid 12, port 5011, v1)"`},
		{"", "Hello from web.1 (pid 12, port 5000, v1)\n", "2xx without X-Devcluster-Instance"},
	}
	for _, tt := range tests {
		if got := wrongBody(tt.instance, tt.body); got != tt.want {
			t.Errorf("wrongBody(%q, %q): got %q, want %q", tt.instance, tt.body, got, tt.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	want := [3]time.Duration{50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}
	if got != want {
		t.Errorf("percentiles of 1..100 ms: got %v, want %v", got, want)
	}
	if got := percentiles(nil); got != [3]time.Duration{} {
		t.Errorf("percentiles of nothing: got %v, want zeros", got)
	}
}

func TestTrimErr(t *testing.T) {
	t.Parallel()
	in := `Get "http://127.0.0.1:24010/": read tcp 127.0.0.1:41234->127.0.0.1:24010: read: connection reset by peer`
	want := `Get "http://127.0.0.1:24010/": read tcp 127.0.0.1:24010: read: connection reset by peer`
	if got := trimErr(in); got != want {
		t.Errorf("trimErr: got %q, want %q", got, want)
	}
}

// TestReportCaught: each kill and pause that caught requests gets a line with its bound;
// the others none.
func TestReportCaught(t *testing.T) {
	t.Parallel()
	evs := soakEvents()
	evs[0].active = 3
	res := loadResult{begin: t0, sent: 5, ok: 2, failures: []record{
		{start: at(900), end: at(1010), status: 502, instance: "web.2"},
		{start: at(950), end: at(1020), status: 502, instance: "web.2"},
		{start: at(2900), end: at(6000), status: 504, instance: "web.3"},
	}}
	r := newReport(&Config{Clients: 50, Actions: Actions()}, res, evs, nil)
	want := []string{
		"    1.0s kill  web.2  pid 100     caught 2 (in flight at the SIGKILL: 7 from the clients; on web.2 per ps just before: 3)",
		"    3.0s pause web.3  pid 200     caught 1 in 3s (at most one per client: 50)",
	}
	if strings.Join(r.Caught, "\n") != strings.Join(want, "\n") {
		t.Errorf("caught:\ngot  %q\nwant %q", r.Caught, want)
	}
	wantFailures := "no scale was done (want each action at least once)\nno restart was done (want each action at least once)"
	if got := strings.Join(r.Failures(), "\n"); r.CaughtByKill != 2 || r.CaughtByPause != 1 || got != wantFailures {
		t.Errorf("got kill %d, pause %d, failures %q; want 2, 1 and %q", r.CaughtByKill, r.CaughtByPause, got, wantFailures)
	}
}

// TestReportFirstMisses: a miss is detailed with its times, its connection and the
// actions around it; a request caught by a kill is not a miss.
func TestReportFirstMisses(t *testing.T) {
	t.Parallel()
	res := loadResult{begin: t0, failures: []record{
		{start: at(1200), end: at(1300), err: "unexpected EOF", reused: true},
		{start: at(900), end: at(1010), status: 502, instance: "web.2"},
		{start: at(20000), end: at(20100), status: 503, instance: "web.1", body: "503 Service Unavailable: no instance"},
	}}
	r := newReport(&Config{Clients: 50}, res, soakEvents(), nil)
	want := []string{
		"sent 1.200s, failed 1.300s, on a reused connection: unexpected EOF; kill web.2 1.000s-1.500s",
		`sent 20.000s, failed 20.100s, on a new connection: 503 from "web.1": 503 Service Unavailable: no instance`,
	}
	if strings.Join(r.FirstMisses, "\n") != strings.Join(want, "\n") {
		t.Errorf("first misses:\ngot  %q\nwant %q", r.FirstMisses, want)
	}
	wantGroups := []string{
		"     1 × 503 from \"web.1\": 503 Service Unavailable: no instance (between actions)",
		"     1 × transport error: unexpected EOF (during kill web.2)",
	}
	if strings.Join(r.Unexplained, "\n") != strings.Join(wantGroups, "\n") {
		t.Errorf("unexplained:\ngot  %q\nwant %q", r.Unexplained, wantGroups)
	}
}
