package proxy

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// HAProxy's drain: no new client goes to the instance, its sticky clients
// still do; off puts it back into rotation.
func TestSetDrainServesStickyClientsOnly(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{Sticky: "cookie"})
	startWeb(t, tp, 3)
	stuck := newClient(t)
	stuck.Jar, _ = cookiejar.New(nil)
	_, mine, _ := get(t, stuck, tp.URL+"/")
	if err := tp.SetDrain(mine, true); err != nil {
		t.Fatal(err)
	}
	if st := statsOf(tp.Proxy, mine).State; st != "drain" {
		t.Errorf("Stats State: got %q, want drain", st)
	}
	for range 6 {
		if _, inst, _ := get(t, newClient(t), tp.URL+"/"); inst == mine {
			t.Fatalf("a new client was sent to the drained %s", mine)
		}
		if _, inst, _ := get(t, stuck, tp.URL+"/"); inst != mine {
			t.Fatalf("the sticky client went to %s, want %s (drain still serves sticky clients)", inst, mine)
		}
	}
	// Every other instance gone: the sticky client is still served, new ones wait.
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if id != mine {
			tp.Remove(id)
		}
	}
	if _, inst, _ := get(t, stuck, tp.URL+"/"); inst != mine {
		t.Errorf("with %s the only one up, and drained: the sticky client went to %q, want %s", mine, inst, mine)
	}
	if err := tp.SetDrain(mine, false); err != nil {
		t.Fatal(err)
	}
	if status, inst, _ := get(t, newClient(t), tp.URL+"/"); status != 200 || inst != mine {
		t.Errorf("after SetDrain off: a new client got %d from %q, want 200 from %s", status, inst, mine)
	}
	if err := tp.SetDrain("web.9", true); err == nil || !strings.Contains(err.Error(), `no instance "web.9"`) {
		t.Errorf("SetDrain(web.9): got %v, want an error naming it", err)
	}
}

// A drained instance with no sticky clients leaves new ones waiting for
// another: 503 once WaitForBackend has passed.
func TestSetDrainOnlyInstanceRefusesNewClients(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{WaitForBackend: 50 * time.Millisecond})
	startWeb(t, tp, 1)
	tp.SetDrain("web.1", true)
	if status, _, _ := get(t, newClient(t), tp.URL+"/"); status != http.StatusServiceUnavailable {
		t.Errorf("got %d, want 503", status)
	}
}
