package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (s *served) post(t *testing.T, body string) (int, string) {
	t.Helper()
	r := s.actionRequest(t, func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
	})
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestActionsReachTheClusterTyped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want Action
	}{
		{`{"kind":"delay","target":"web.3","duration_ms":300,"jitter_ms":50,"percent":25}`,
			Action{Kind: ActDelay, Target: "web.3", Duration: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Percent: 25}},
		{`{"kind":"delay","target":"web.3","duration_ms":300}`,
			Action{Kind: ActDelay, Target: "web.3", Duration: 300 * time.Millisecond, Percent: 100}},
		{`{"kind":"fail","target":"web.1","percent":50}`, Action{Kind: ActFail, Target: "web.1", Percent: 50, Status: 503}},
		{`{"kind":"fail","target":"web.1","percent":10,"status":500,"for_ms":2000}`,
			Action{Kind: ActFail, Target: "web.1", Percent: 10, Status: 500, For: 2 * time.Second}},
		{`{"kind":"reset","target":"web.2","percent":25}`, Action{Kind: ActReset, Target: "web.2", Percent: 25}},
		{`{"kind":"reset","target":"web.2"}`, Action{Kind: ActReset, Target: "web.2", Percent: 100}},
		{`{"kind":"timeout","target":"web.1","for_ms":2000}`, Action{Kind: ActTimeout, Target: "web.1", Percent: 100, For: 2 * time.Second}},
		{`{"kind":"timeout","target":"web.1","percent":10}`, Action{Kind: ActTimeout, Target: "web.1", Percent: 10}},
		{`{"kind":"weight","target":"web.2","weight":0}`, Action{Kind: ActWeight, Target: "web.2"}},
		{`{"kind":"scale","target":"web","n":5}`, Action{Kind: ActScale, Target: "web", N: 5}},
		{`{"kind":"reload","target":"web"}`, Action{Kind: ActReload, Target: "web"}},
		{`{"kind":"restart","target":"web.1"}`, Action{Kind: ActRestart, Target: "web.1"}},
		{`{"kind":"clear","target":""}`, Action{Kind: ActClearFaults}},
		{`{"kind":"pause","target":"web.2"}`, Action{Kind: ActPause, Target: "web.2"}},
		{`{"kind":"load","path":"/cart","n":20,"duration_ms":30000,"rate":0}`,
			Action{Kind: ActLoad, Path: "/cart", N: 20, Duration: 30 * time.Second}},
		{`{"kind":"load","path":"/","n":3,"duration_ms":5000,"rate":200}`,
			Action{Kind: ActLoad, Path: "/", N: 3, Duration: 5 * time.Second, Rate: 200}},
		{`{"kind":"load-stop"}`, Action{Kind: ActLoadStop}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			s := serve(t, 3)
			if code, msg := s.post(t, tt.body); code != http.StatusOK {
				t.Fatalf("got %d %s, want 200", code, msg)
			}
			got := s.c.acted()
			if len(got) != 1 || got[0].Kind != tt.want.Kind || got[0] != tt.want {
				t.Errorf("got %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestBadActionsAreRefusedWithTheReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		code int
		msg  string
	}{
		{`{"kind":"exec","target":"web.1"}`, 400, `unknown action "exec" (actions: restart, stop`},
		{`{"kind":"kill","target":"web.9"}`, 404, `unknown instance "web.9" (known: web.1, web.2, web.3)`},
		{`{"kind":"scale","target":"api","n":2}`, 404, `unknown process "api" (known: web)`},
		{`{"kind":"scale","target":"web","n":-1}`, 400, "instance count must be between 0 and 1000, got -1"},
		{`{"kind":"delay","target":"web.1","duration_ms":0}`, 400, "delay must be between 1ms and 1h0m0s, got 0s"},
		{`{"kind":"delay","target":"web.1","duration_ms":100,"jitter_ms":200}`, 400, "jitter must be between 0 and the delay (100ms), got 200ms"},
		{`{"kind":"fail","target":"web.1","percent":0}`, 400, "percent must be above 0 and at most 100, got 0"},
		{`{"kind":"fail","target":"web.1","percent":50,"status":99}`, 400, "status must be an HTTP status 100..599, got 99"},
		{`{"kind":"reset","target":"web.1","percent":150}`, 400, "percent must be above 0 and at most 100, got 150"},
		{`{"kind":"timeout","target":"web.1","percent":-5}`, 400, "percent must be above 0 and at most 100, got -5"},
		{`{"kind":"timeout","target":"web.9"}`, 404, `unknown instance "web.9"`},
		{`{"kind":"weight","target":"web.1","weight":300}`, 400, "weight must be between 0 and 256, got 300"},
		{`{"kind":"kill"}`, 400, "kill needs a target"},
		{`{"kind":"kill","target":"web.1","command":"rm -rf /"}`, 400, `unknown field "command"`},
		{`not json`, 400, "bad action"},
		{`{"kind":"load","path":"cart","n":1,"duration_ms":1000}`, 400, `load path must start with / and have no spaces, got "cart"`},
		{`{"kind":"load","path":"/","n":0,"duration_ms":1000}`, 400, "load users must be between 1 and 256, got 0"},
		{`{"kind":"load","path":"/","n":1}`, 400, "load duration must be between 1s and 10m0s, got 0s"},
		{`{"kind":"load","path":"/","n":1,"duration_ms":3600000}`, 400, "load duration must be between 1s and 10m0s, got 1h0m0s"},
		{`{"kind":"load","path":"/","n":1,"duration_ms":1000,"rate":-1}`, 400, "load rate must be between 0 (closed loop) and 100000 requests/s, got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			s := serve(t, 3)
			code, msg := s.post(t, tt.body)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %d %q, want %d %q", code, msg, tt.code, tt.msg)
			}
			if a := s.c.acted(); len(a) != 0 {
				t.Errorf("refused, but Act was called with %+v", a)
			}
		})
	}
}

func TestStateJoinsSnapshotAndTraffic(t *testing.T) {
	t.Parallel()
	s := serve(t, 3)
	s.feed(4, 10*time.Millisecond)
	s.rec.Record(Request{Instance: "web.2", Method: "POST", Path: "/cart?x=1", Status: 503, Duration: 30 * time.Millisecond,
		ID: "abc", Decision: "retried from web.1: refused", BytesIn: 10, BytesOut: 20})
	st, err := s.d.state(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Instances) != 3 {
		t.Fatalf("got %d instances, want 3", len(st.Instances))
	}
	// issue 24: the page shows the seed, as a string (JavaScript's numbers
	// would round a seed above 2^53)
	if st.Seed != "18446744073709551557" {
		t.Errorf("got seed %q, want the snapshot's, whole", st.Seed)
	}
	w2 := st.Instances[1]
	if w2.ID != "web.2" || w2.Traffic.Total != 5 || w2.Traffic.Classes[5] != 1 || w2.Traffic.BytesOut != 20 {
		t.Errorf("web.2: got %+v, want 5 requests, one 5xx, 20 bytes out", w2)
	}
	if w2.P50MS < 9 || w2.P50MS > 11 {
		t.Errorf("web.2's p50: got %v ms, want 10 ± 1/16", w2.P50MS)
	}
	r := st.Recent[0]
	if r.Path != "/cart?x=1" || r.Decision != "retried from web.1: refused" || r.ID != "abc" || r.DurationMS != 30 {
		t.Errorf("newest recent request: got %+v", r)
	}
	if got := st.Logs["web.3"]; len(got) != 1 || !strings.Contains(got[0].Text, "5002") {
		t.Errorf("web.3's log: got %v", got)
	}
}

func TestEventsStreamStateUntilClose(t *testing.T) {
	t.Parallel()
	s := serve(t, 2)
	resp, err := http.Get(s.base + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type: got %q, want text/event-stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func() pageState {
		t.Helper()
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var st pageState
				if err := json.Unmarshal([]byte(data), &st); err != nil {
					t.Fatalf("event data: %v", err)
				}
				return st
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return pageState{}
	}
	if st := next(); len(st.Instances) != 2 || st.Instances[0].Traffic.Total != 0 || st.CanAct {
		t.Fatalf("first event: got %+v, can_act %v; want 2 instances without requests, read-only (no token)", st.Instances, st.CanAct)
	}
	s.feed(3, time.Millisecond)
	for st := next(); st.Instances[0].Traffic.Total != 3; st = next() {
	}
	s.d.Close()
	for sc.Scan() {
	}
	// The stream ended: Close let it go without the client hanging up.
}

func TestPrefixRouting(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	if !s.d.Owns("/_devcluster/metrics") || !s.d.Owns("/_devcluster") || s.d.Owns("/_devclusterx") || s.d.Owns("/") {
		t.Errorf("Owns: wrong for one of /_devcluster/metrics, /_devcluster, /_devclusterx, /")
	}
	resp, err := noRedirect.Get(strings.TrimSuffix(s.base, "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != DefaultPrefix {
		t.Errorf("bare prefix: got %s to %q, want a redirect to %s", resp.Status, resp.Header.Get("Location"), DefaultPrefix)
	}
	for path, want := range map[string]string{"": "text/html", "assets/app.js": "javascript", "assets/style.css": "text/css"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), want) {
			t.Errorf("GET %s: got %s %s, want 200 %s", path, resp.Status, resp.Header.Get("Content-Type"), want)
		}
	}
	if _, err := New(Config{Cluster: newFakeCluster(1), Addr: "127.0.0.1:8080", Prefix: "/dash"}); err == nil ||
		!strings.Contains(err.Error(), `must start and end with "/"`) {
		t.Errorf("prefix /dash: got %v, want a refusal", err)
	}
	if _, err := New(Config{Cluster: newFakeCluster(1), Addr: ":0"}); err == nil || !strings.Contains(err.Error(), "bound host:port") {
		t.Errorf("address :0: got %v, want a refusal", err)
	}
}

func TestEventsSayWhetherThePageMayAct(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	r, _ := http.NewRequest(http.MethodGet, s.base+"events", nil)
	r.Header.Set(TokenHeader, s.d.Token())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if !strings.Contains(data, `"can_act":true`) {
				t.Errorf("with the token's header: got %s, want can_act true", data)
			}
			return
		}
	}
	t.Fatalf("no event: %v", sc.Err())
}
