package proxy

import (
	"strings"
	"testing"
)

// TestWeightOfInstanceEnabledAfterStart: the process's weight applies to an
// instance enabled later (devcluster scale), not only to those known at start,
// which used to get weight 1: with weight 3 for web and web.3 added after two
// instances served, 60 requests split 20/20/20, not 26/26/8.
func TestWeightOfInstanceEnabledAfterStart(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Weight: 3})
	startWeb(t, tp, 2)
	cl := newClient(t)
	countInstances(t, cl, tp.URL+"/", 5)
	b3 := startBackend(t, "web.3", nil)
	tp.Enable("web.3", b3.Addr)
	got := countInstances(t, cl, tp.URL+"/", 60)
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if got[id] != 20 {
			t.Errorf("%s: got %d requests, want 20 (all: %v)", id, got[id], got)
		}
	}
	if w := statsOf(tp.Proxy, "web.3").Weight; w != 3 {
		t.Errorf("web.3: got weight %d, want 3", w)
	}
}

func TestSetWeight(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	startWeb(t, tp, 2)
	if err := tp.SetWeight("web.1", 3); err != nil {
		t.Fatalf("SetWeight: %v", err)
	}
	got := countInstances(t, newClient(t), tp.URL+"/", 40)
	if got["web.1"] != 30 || got["web.2"] != 10 {
		t.Errorf("got %v, want web.1 30 and web.2 10 after SetWeight(web.1, 3)", got)
	}
	if w := statsOf(tp.Proxy, "web.1").Weight; w != 3 {
		t.Errorf("got weight %d in Stats, want 3", w)
	}
	for _, tt := range []struct {
		id   string
		w    int
		want string
	}{
		{"web.9", 2, `no instance "web.9"`},
		{"web.1", 0, "weight 0 for web.1: want 1 to 256"},
		{"web.1", 257, "weight 257 for web.1: want 1 to 256"},
	} {
		if err := tp.SetWeight(tt.id, tt.w); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetWeight(%s, %d): got %v, want an error containing %q", tt.id, tt.w, err, tt.want)
		}
	}
}
