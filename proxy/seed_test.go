package proxy

import (
	"strconv"
	"strings"
	"testing"
)

// sequence sends n requests one after the other through a proxy with cfg and
// three backends, web.2 with fault f when f.Kind is set, and returns which
// instance answered each and its status: "web.1/200 web.3/503 …".
func sequence(t *testing.T, cfg Config, f Fault, n int) string {
	t.Helper()
	tp := startProxy(t, cfg)
	startWeb(t, tp, 3)
	if f.Kind != "" {
		if err := tp.SetFault("web.2", f); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t)
	var seq []string
	for range n {
		code, id, _ := get(t, c, tp.URL+"/")
		seq = append(seq, id+"/"+strconv.Itoa(code))
	}
	return strings.Join(seq, " ")
}

// TestSeedRepeatsTheRandomStrategy is issue 24's --seed: two runs of the random
// strategy with the same seed send the same requests to the same instances; a
// different seed sends them elsewhere.
func TestSeedRepeatsTheRandomStrategy(t *testing.T) {
	t.Parallel()
	cfg := Config{Strategy: "random", Seed: 42}
	a := sequence(t, cfg, Fault{}, 60)
	b := sequence(t, cfg, Fault{}, 60)
	if a != b {
		t.Errorf("seed 42 twice: got\n%s\nand\n%s\nwant the same sequence", a, b)
	}
	cfg.Seed = 43
	if c := sequence(t, cfg, Fault{}, 60); c == a {
		t.Errorf("seeds 42 and 43 gave the same 60 choices: %s", c)
	}
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if !strings.Contains(a, id+"/") {
			t.Errorf("%s got none of 60 random requests: %s", id, a)
		}
	}
}

// TestSeedRepeatsFaultPercentages: a 50% fault hits the same requests in two
// runs with the same seed.
func TestSeedRepeatsFaultPercentages(t *testing.T) {
	t.Parallel()
	cfg := Config{Strategy: "random", Seed: 7}
	f := Fault{Kind: FaultFail, Status: 503, Percent: 50}
	a := sequence(t, cfg, f, 60)
	if b := sequence(t, cfg, f, 60); a != b {
		t.Errorf("seed 7 twice: got\n%s\nand\n%s\nwant the same", a, b)
	}
	if !strings.Contains(a, "web.2/503") || !strings.Contains(a, "web.2/200") {
		t.Errorf("a 50%% fault on web.2: got %s, want some of its answers 503 and some 200", a)
	}
}

func TestSeedPickedWhenZero(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Seed() == 0 {
		t.Error("Seed() is 0, want the seed New picked")
	}
	q, _ := New(Config{Seed: 99})
	if q.Seed() != 99 {
		t.Errorf("Seed() = %d, want 99", q.Seed())
	}
}
