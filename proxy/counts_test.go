package proxy

import (
	"io"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestCountsGoOnAcrossRestarts: a reload or restart removes an instance from
// its pool (its process is gone) and enables it again, on a new process; its
// counters started again at 0, so that ps's REQUESTS (and the dashboard's
// totals) lost what the instance had served before each reload.
func TestCountsGoOnAcrossRestarts(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	cl := newClient(t)
	get := func(n int) {
		t.Helper()
		for range n {
			resp, err := cl.Get(tp.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("got %d, want 200", resp.StatusCode)
			}
		}
	}
	first := startBackend(t, "web.1", nil)
	tp.Enable("web.1", first.Addr)
	get(3)
	tp.Remove("web.1") // the process exited: a reload's stop, or a crash
	second := startBackend(t, "web.1", nil)
	tp.Enable("web.1", second.Addr)
	get(2)
	// Bytes out are counted once the client has its answer: wait for them.
	want := 5 * uint64(len("web.1"))
	var st []BackendStats
	ok := tstest.Poll(5*time.Second, func() bool {
		st = tp.Stats()
		return len(st) == 1 && st[0].BytesOut >= want
	})
	if !ok || len(st) != 1 {
		t.Fatalf("stats after a restart: %+v; want web.1 with %d bytes out", st, want)
	}
	if st[0].Requests != 5 || st[0].Connects < 2 || st[0].BytesOut != want {
		t.Errorf("web.1 after a restart: %d requests, %d connects, %d bytes out; want 5 (3 before, 2 after), at least 2, %d",
			st[0].Requests, st[0].Connects, st[0].BytesOut, want)
	}
	// A second restart: the first incarnation's counts are folded, not lost.
	tp.Remove("web.1")
	third := startBackend(t, "web.1", nil)
	tp.Enable("web.1", third.Addr)
	get(1)
	if !tstest.Poll(5*time.Second, func() bool { st = tp.Stats(); return len(st) == 1 && st[0].BytesOut >= want+5 }) ||
		st[0].Requests != 6 {
		t.Errorf("web.1 after a second restart: %+v; want 6 requests, %d bytes out", st, want+5)
	}
}
