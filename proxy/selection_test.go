package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/tstest"
)

func TestNewSelectorUnknown(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Strategy: "fastest"})
	if err == nil || !strings.Contains(err.Error(), `unknown balancing strategy "fastest"`) {
		t.Fatalf("got %v, want an unknown-strategy error", err)
	}
}

// TestNewSelectorKnowsEveryStrategy: every name in defaults.Strategies (what
// procfile accepts) must be a strategy New accepts, and the empty name the default.
func TestNewSelectorKnowsEveryStrategy(t *testing.T) {
	t.Parallel()
	for _, s := range append(Strategies, "") {
		if _, err := New(Config{Strategy: s}); err != nil {
			t.Errorf("strategy %q: got %v, want it accepted", s, err)
		}
	}
	if Strategies[0] != defaults.Strategy {
		t.Errorf("got Strategies[0] %q, want the default %q first", Strategies[0], defaults.Strategy)
	}
}

func TestWeightedRing(t *testing.T) {
	t.Parallel()
	mk := func(id string, w int) *backend {
		b := &backend{id: id}
		b.weight.Store(int32(w))
		return b
	}
	tests := []struct {
		name    string
		weights []int
		want    string
	}{
		{"equal", []int{1, 1, 1}, "a b c"},
		{"two to one", []int{2, 1}, "a b a"},
		{"three one one", []int{3, 1, 1}, "a b a c a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bs []*backend
			for i, w := range tt.weights {
				bs = append(bs, mk(string(rune('a'+i)), w))
			}
			var ids []string
			for _, b := range weightedRing(bs) {
				ids = append(ids, b.id)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func countInstances(t *testing.T, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		code, inst, body := get(t, c, url)
		if code != 200 || inst != body {
			t.Fatalf("got %d %q body %q, want 200 from the instance named in the header", code, inst, body)
		}
		got[inst]++
	}
	return got
}

func TestRoundRobinExact(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Strategy: "roundrobin"})
	startWeb(t, tp, 3)
	got := countInstances(t, newClient(t), tp.URL+"/", 30)
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if got[id] != 10 {
			t.Errorf("%s: got %d requests, want 10 (all: %v)", id, got[id], got)
		}
	}
}

func TestRoundRobinWeights(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Weights: map[string]int{"web.1": 2}})
	startWeb(t, tp, 2)
	got := countInstances(t, newClient(t), tp.URL+"/", 30)
	if got["web.1"] != 20 || got["web.2"] != 10 {
		t.Errorf("got %v, want web.1:20 web.2:10", got)
	}
}

// holdingBackend answers /hold only when release is closed and counts arrivals.
func holdingBackend(t *testing.T, name string, release <-chan struct{}) *backendServer {
	return startBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, name)
	})
}

func TestLeastConnPrefersIdle(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Strategy: "leastconn"})
	release := make(chan struct{})
	for i := 1; i <= 2; i++ {
		id := fmt.Sprintf("web.%d", i)
		tp.Enable(id, holdingBackend(t, id, release).Addr)
	}
	c := newClient(t)
	held := make(chan response, 1)
	go func() { held <- fetch(c, tp.URL+"/hold") }()
	var busy string
	tstest.WaitFor(t, 5*time.Second, "a request in flight", func() bool {
		for _, s := range tp.Stats() {
			if s.Active == 1 {
				busy = s.ID
				return true
			}
		}
		return false
	})
	got := countInstances(t, c, tp.URL+"/", 10)
	close(release)
	if got[busy] != 0 {
		t.Errorf("busy %s got %d of 10 requests, want 0 (all: %v)", busy, got[busy], got)
	}
	if inst := (<-held).must(t).inst; inst != busy {
		t.Errorf("held request answered by %s, want %s", inst, busy)
	}
}

func TestRandomUsesAll(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Strategy: "random"})
	startWeb(t, tp, 3)
	got := countInstances(t, newClient(t), tp.URL+"/", 90)
	if len(got) != 3 {
		t.Errorf("got %v, want all three instances used", got)
	}
}

// clientFrom returns a client whose connections come from source IP ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		return d.DialContext(ctx, n, a)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestHashStrategiesStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		strategy string
		// key i → (client source IP, path)
		key func(i int) (string, string)
	}{
		{"source", func(i int) (string, string) { return fmt.Sprintf("127.0.0.%d", i+2), "/" }},
		{"uri", func(i int) (string, string) { return "127.0.0.1", fmt.Sprintf("/page/%d", i) }},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			tp := startProxy(t, Config{Strategy: tt.strategy})
			startWeb(t, tp, 3)
			used := map[string]bool{}
			for i := range 16 {
				ip, path := tt.key(i)
				got := countInstances(t, clientFrom(t, ip), tp.URL+path+"?q="+fmt.Sprint(i), 5)
				if len(got) != 1 {
					t.Fatalf("key %s %s: got %v, want one instance", ip, path, got)
				}
				for id := range got {
					used[id] = true
				}
			}
			if len(used) < 2 {
				t.Errorf("16 keys all went to %v, want them spread", used)
			}
		})
	}
}

func TestFirstFillsInOrder(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Strategy: "first"}, PoolConfig{Process: "web", MaxConn: 2})
	release := make(chan struct{})
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("web.%d", i)
		tp.Enable(id, holdingBackend(t, id, release).Addr)
	}
	c := newClient(t)
	results := make(chan response, 4)
	want := []string{"web.1", "web.1", "web.2", "web.2"}
	for i := range want {
		go func() { results <- fetch(c, tp.URL+"/hold") }()
		tstest.WaitFor(t, 5*time.Second, fmt.Sprintf("%d requests in flight", i+1), func() bool {
			total := int64(0)
			for _, s := range tp.Stats() {
				total += s.Active
			}
			return total == int64(i+1)
		})
		if a := statsOf(tp.Proxy, want[i]).Active; a < 1 {
			t.Errorf("request %d: %s has %d in flight, want it filled in order", i+1, want[i], a)
		}
	}
	if got := statsOf(tp.Proxy, "web.3").Active; got != 0 {
		t.Errorf("web.3 active: got %d, want 0 while web.1 and web.2 have room", got)
	}
	close(release)
	got := map[string]int{}
	for range want {
		got[(<-results).must(t).inst]++
	}
	if got["web.1"] != 2 || got["web.2"] != 2 {
		t.Errorf("got %v, want web.1:2 web.2:2", got)
	}
}
