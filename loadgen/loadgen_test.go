package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// roundRobin is a stand-in for the proxy: it answers as web.1, web.2, web.3 in
// turn, naming the instance in X-Devcluster-Instance.
func roundRobin(t *testing.T, n int, h func(w http.ResponseWriter, r *http.Request, inst string)) *httptest.Server {
	t.Helper()
	var next atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inst := fmt.Sprintf("web.%d", next.Add(1)%int64(n)+1)
		w.Header().Set("X-Devcluster-Instance", inst)
		if h != nil {
			h(w, r, inst)
			return
		}
		io.WriteString(w, "hello from "+inst)
	}))
	t.Cleanup(s.Close)
	return s
}

func run(t *testing.T, cfg Config) Result {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g.Run(context.Background())
}

func TestReceiptCountsAddUp(t *testing.T) {
	t.Parallel()
	for _, c := range []int{1, 3, 7} {
		t.Run(fmt.Sprintf("c=%d", c), func(t *testing.T) {
			t.Parallel()
			s := roundRobin(t, 3, nil)
			r := run(t, Config{URL: s.URL + "/", Connections: c, Count: 30, KeepAlive: true})
			if r.Requests != 30 || r.Failed != 0 {
				t.Fatalf("got %d requests, %d failed, want 30 and 0 (%v)", r.Requests, r.Failed, r.FailedBy)
			}
			for _, inst := range []string{"web.1", "web.2", "web.3"} {
				if r.Instances[inst] != 10 {
					t.Errorf("%s: got %d answers, want 10 (%v)", inst, r.Instances[inst], r.Instances)
				}
			}
			if r.Statuses[200] != 30 {
				t.Errorf("got statuses %v, want 30 × 200", r.Statuses)
			}
			if want := int64(30 * len("hello from web.1")); r.Bytes != want {
				t.Errorf("got %d body bytes, want %d", r.Bytes, want)
			}
			if r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.Max < r.Latency.P99 {
				t.Errorf("latencies out of order: %+v", r.Latency)
			}
		})
	}
}

// TestFailedCountedByCause: a 503, a connection closed without an answer and
// a refused connection are each failed, under their own cause; a 404 is an
// answer, not a failure.
func TestFailedCountedByCause(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close() // no answer at all
		case 3:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	r := run(t, Config{URL: s.URL + "/", Connections: 1, Count: 40})
	if r.Requests != 40 {
		t.Fatalf("got %d requests, want 40", r.Requests)
	}
	want := map[string]int64{"HTTP 503": 10, CauseReset: 10}
	if fmt.Sprint(r.FailedBy) != fmt.Sprint(want) || r.Failed != 20 {
		t.Errorf("got failed %d by %v, want 20 by %v", r.Failed, r.FailedBy, want)
	}
	if r.Statuses[404] != 10 || r.Statuses[200] != 10 || r.Statuses[503] != 10 {
		t.Errorf("got statuses %v, want 10 each of 200, 404, 503", r.Statuses)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r = run(t, Config{URL: "http://" + addr + "/", Connections: 2, Count: 6})
	if r.Failed != 6 || r.FailedBy[CauseConnect] != 6 {
		t.Errorf("refused: got failed %d by %v, want 6 connect", r.Failed, r.FailedBy)
	}
}

// TestOpenLoopShowsAStall is coordinated omission: one connection, 100
// requests due per second, and every 20th answer 300 ms late. A closed loop
// would just send fewer requests during the stall, and only the stalled
// request would be slow; the open loop measures from the due time, so the
// requests due during the stall are late too, and that shows in p90 and p99.
func TestOpenLoopShowsAStall(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	s := roundRobin(t, 1, func(w http.ResponseWriter, r *http.Request, _ string) {
		if n.Add(1)%20 == 0 {
			time.Sleep(300 * time.Millisecond) // the stalled instance
		}
	})
	r := run(t, Config{URL: s.URL + "/", Connections: 1, Rate: 100, Count: 100, KeepAlive: true})
	if r.Requests != 100 || r.Failed != 0 {
		t.Fatalf("got %d requests, %d failed, want 100 and 0", r.Requests, r.Failed)
	}
	if r.Latency.P99 < 300*time.Millisecond {
		t.Errorf("p99 %s, want at least the 300 ms stall", r.Latency.P99)
	}
	// 5 stalls of 300 ms each make ~30 requests due meanwhile wait: more than
	// 10% of them are at least 100 ms late.
	if r.Latency.P90 < 100*time.Millisecond {
		t.Errorf("p90 %s, want ≥ 100 ms: the requests due during a stall waited", r.Latency.P90)
	}
	if r.Mode != "open" {
		t.Errorf("mode %q, want open", r.Mode)
	}
}

// TestKeepAliveAndCookies: each virtual user has its own connection (kept,
// or one per request without keep-alive) and its own cookie jar: the server
// sees one session per user.
func TestKeepAliveAndCookies(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keep), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			sessions := map[string]int{}
			var conns atomic.Int64
			s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				c, err := r.Cookie("session")
				if errors.Is(err, http.ErrNoCookie) {
					id := fmt.Sprintf("s%d", len(sessions)+1)
					sessions[id] = 0
					http.SetCookie(w, &http.Cookie{Name: "session", Value: id})
					http.SetCookie(w, &http.Cookie{Name: "flash", Value: "hi"})
					return
				}
				sessions[c.Value]++
				if f, err := r.Cookie("flash"); err == nil && sessions[c.Value] > 1 {
					t.Errorf("flash cookie %q sent back after it was deleted", f.Value)
				}
				http.SetCookie(w, &http.Cookie{Name: "flash", MaxAge: -1})
			}))
			s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			s.Start()
			t.Cleanup(s.Close)
			r := run(t, Config{URL: s.URL + "/", Connections: 3, Count: 30, KeepAlive: keep, Cookies: true})
			if r.Failed != 0 {
				t.Fatalf("failed %d: %v", r.Failed, r.FailedBy)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(sessions) != 3 {
				t.Errorf("got %d sessions, want 3 (one per user): %v", len(sessions), sessions)
			}
			want := int64(3)
			if !keep {
				want = 30
			}
			if got := conns.Load(); got != want {
				t.Errorf("got %d connections, want %d", got, want)
			}
		})
	}
}

func TestBodiesOfEveryFraming(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	answers := []string{
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nTrailer: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
	}
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn, a string) {
				defer c.Close()
				b := make([]byte, 4096)
				c.Read(b)
				io.WriteString(c, a)
				if !strings.Contains(a, "close") {
					c.Read(b) // the client closes: keep-alive is off
				}
			}(c, answers[i%len(answers)])
		}
	}()
	r := run(t, Config{URL: "http://" + ln.Addr().String() + "/", Connections: 1, Count: 3})
	if r.Failed != 0 || r.Statuses[200] != 3 {
		t.Fatalf("got %v failed by %v, want 3 × 200", r.Statuses, r.FailedBy)
	}
	if want := int64(5 + 7 + len("until the end")); r.Bytes != want {
		t.Errorf("got %d body bytes, want %d", r.Bytes, want)
	}
}

func TestUnboundedLoadRefused(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{URL: "http://127.0.0.1:1/"}); !errors.Is(err, ErrUnbounded) {
		t.Errorf("got %v, want ErrUnbounded", err)
	}
	for _, u := range []string{"ftp://x/", "http:///nohost", "http://x/a\nb"} {
		if _, err := New(Config{URL: u, Count: 1}); err == nil {
			t.Errorf("%q: got no error", u)
		}
	}
}

func TestDurationBoundsTheRun(t *testing.T) {
	t.Parallel()
	s := roundRobin(t, 2, nil)
	r := run(t, Config{URL: s.URL + "/", Connections: 2, Duration: 200 * time.Millisecond, KeepAlive: true})
	if r.Requests == 0 || r.Failed != 0 {
		t.Errorf("got %d requests, %d failed, want some and none failed", r.Requests, r.Failed)
	}
	if r.Elapsed < 200*time.Millisecond {
		t.Errorf("elapsed %s, want at least the 200 ms asked", r.Elapsed)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	s := roundRobin(t, 3, nil)
	r := run(t, Config{URL: s.URL + "/", Connections: 1, Count: 3})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Requests  int64              `json:"requests"`
		Failed    *int64             `json:"failed"`
		Instances map[string]int64   `json:"instances"`
		Latency   map[string]float64 `json:"latency"`
		Elapsed   float64            `json:"elapsed_seconds"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Requests != 3 || got.Failed == nil || *got.Failed != 0 || len(got.Instances) != 3 || got.Latency["p99"] <= 0 || got.Elapsed <= 0 {
		t.Errorf("got %s", b)
	}
}

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 100000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := time.Duration(q*100000) * time.Microsecond
		got := h.quantile(q)
		if d := float64(got-want) / float64(want); d > 0.01 || d < -0.01 {
			t.Errorf("q%v: got %s, want %s ± 1%%", q, got, want)
		}
	}
	if h.quantile(1) != 100*time.Millisecond {
		t.Errorf("max: got %s", h.quantile(1))
	}
	for _, d := range []time.Duration{0, 1, 127, 128, 129, 1 << 20, 1<<40 + 12345} {
		if got := bucketValue(bucketOf(d)); float64(got-d) > 0.01*float64(d)+1 || float64(d-got) > 0.01*float64(d)+1 {
			t.Errorf("bucket of %d: middle %d, more than 1%% away", d, got)
		}
	}
}
