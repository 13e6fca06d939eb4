package dashboard

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingCluster counts the Snapshots the dashboard takes.
type countingCluster struct {
	*fakeCluster
	snaps atomic.Int64
}

func (c *countingCluster) Snapshot(ctx context.Context) (Snapshot, error) {
	c.snaps.Add(1)
	return c.fakeCluster.Snapshot(ctx)
}

// serveCounting is serve with a countingCluster and cfg's MaxFeeds.
func serveCounting(t *testing.T, maxFeeds int) (*countingCluster, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingCluster{fakeCluster: newFakeCluster(2)}
	d, err := New(Config{Cluster: c, Addr: ln.Addr().String(), Interval: 50 * time.Millisecond, MaxFeeds: maxFeeds})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	return c, "http://" + ln.Addr().String() + DefaultPrefix
}

// openFeed opens the live feed; the caller closes the response's body.
func openFeed(t *testing.T, base string) *http.Response {
	t.Helper()
	resp, err := http.Get(base + "events")
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitEvents reads n events from a feed, or fails after 10 s.
func waitEvents(resp *http.Response, n int) bool {
	got := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		seen := 0
		for seen < n && sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				seen++
			}
		}
		got <- seen == n
	}()
	select {
	case ok := <-got:
		return ok
	case <-time.After(10 * time.Second):
		return false
	}
}

// TestLiveFeedClientsCapped: /_devcluster/events (no token needed) took any
// number of clients; 2,000 took 0.56 of a core and slowed proxied requests
// from 2 ms to 0.1-0.44 s. Beyond MaxFeeds a client gets a 503 that says why.
func TestLiveFeedClientsCapped(t *testing.T) {
	t.Parallel()
	_, base := serveCounting(t, 4)
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	for range 4 {
		r := openFeed(t, base)
		open = append(open, r)
		if r.StatusCode != 200 {
			t.Fatalf("feed %d of 4: got %s, want 200", len(open), r.Status)
		}
		if !waitEvents(r, 1) {
			t.Fatalf("feed %d of 4: no event within 10 s", len(open))
		}
	}
	r := openFeed(t, base)
	open = append(open, r)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a fifth feed with MaxFeeds 4: got %s (Retry-After %q), want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	// A place frees when a page goes away.
	open[0].Body.Close()
	ok := false
	for deadline := time.Now().Add(10 * time.Second); !ok && time.Now().Before(deadline); {
		r := openFeed(t, base)
		open = append(open, r)
		ok = r.StatusCode == 200
	}
	if !ok {
		t.Errorf("after one of 4 feeds closed, a new one still got 503 for 10 s")
	}
}

// TestLiveFeedStateGatheredOncePerTick: each open page took its own
// Snapshot and marshalled its own JSON every tick, so the feed's cost grew
// with the number of pages. One gathering per tick now serves them all.
func TestLiveFeedStateGatheredOncePerTick(t *testing.T) {
	t.Parallel()
	c, base := serveCounting(t, 0)
	const pages, events = 10, 5
	var open []*http.Response
	for range pages {
		r := openFeed(t, base)
		defer r.Body.Close()
		open = append(open, r)
	}
	before := c.snaps.Load()
	for i, r := range open {
		if !waitEvents(r, events) {
			t.Fatalf("page %d: fewer than %d events within 10 s", i+1, events)
		}
	}
	// Every page has seen events ticks since before; one gathering per tick
	// is about events+1 Snapshots (the pages do not all start on the same
	// tick); one per page per tick would be pages*events.
	got := c.snaps.Load() - before
	t.Logf("%d pages, %d events each: %d Snapshots", pages, events, got)
	if got > 3*events {
		t.Errorf("%d pages, %d events each: %d Snapshots, want about %d (one per tick, not one per page)", pages, events, got, events)
	}
}

// TestCloseWhileFeedsOpen: Close waited for the gathering goroutine while a
// feed opening at the same moment could start one (a WaitGroup Add racing
// its Wait, which the race detector caught in cmd's TestDashboardShowsStandbys).
// Feeds open while Close runs; under -race this fails if they race.
func TestCloseWhileFeedsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Cluster: newFakeCluster(1), Addr: ln.Addr().String(), Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	base := "http://" + ln.Addr().String() + DefaultPrefix
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				if resp, err := http.Get(base + "events"); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	d.Close()
	for range 8 {
		<-done
	}
	d.Close() // twice is fine
}
