package dashboard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeCluster is an in-memory Cluster whose state the test drives: Act records
// the action and applies the few effects the tests look for.
type fakeCluster struct {
	mu      sync.Mutex
	snap    Snapshot
	actions []Action
	logs    map[string][]LogLine
	nextPID int
}

func newFakeCluster(n int) *fakeCluster {
	f := &fakeCluster{logs: map[string][]LogLine{}, nextPID: 4000}
	f.snap = Snapshot{Proxy: "127.0.0.1:8080", Strategy: "roundrobin", Seed: 18446744073709551557,
		Processes: []Process{{Name: "web", Instances: n, Balanced: true}}}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("web.%d", i)
		f.nextPID++
		f.snap.Instances = append(f.snap.Instances, Instance{ID: id, Process: "web", State: "ready", Balancer: "up",
			PID: f.nextPID, Port: 5000 + i - 1, Uptime: time.Duration(i) * time.Minute, Weight: 1,
			Health: Health{Time: time.Now(), OK: true, Result: "HTTP 200", Duration: 2 * time.Millisecond}})
		f.logs[id] = []LogLine{{Time: time.Now(), Text: fmt.Sprintf(" * Running on http://127.0.0.1:%d", 5000+i-1)}}
	}
	return f
}

func (f *fakeCluster) Snapshot(ctx context.Context) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snap
	s.Instances = append([]Instance(nil), f.snap.Instances...)
	for i := range s.Instances {
		s.Instances[i].Faults = append([]Fault(nil), s.Instances[i].Faults...)
	}
	return s, nil
}

func (f *fakeCluster) Act(ctx context.Context, a Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, a)
	in := f.find(a.Target)
	switch a.Kind {
	case ActKill:
		in.State, in.Balancer, in.PID, in.Uptime = "down", "down", 0, 0
	case ActDelay:
		in.Faults = append(in.Faults, Fault{Kind: ActDelay, Detail: a.Duration.String()})
	case ActClearFaults:
		for i := range f.snap.Instances {
			if a.Target == "" || f.snap.Instances[i].ID == a.Target {
				f.snap.Instances[i].Faults = nil
			}
		}
	}
	return nil
}

// restart brings instance id back with a new pid, as the restart policy would.
func (f *fakeCluster) restart(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.find(id)
	f.nextPID++
	in.State, in.Balancer, in.PID, in.Restarts = "ready", "up", f.nextPID, in.Restarts+1
}

func (f *fakeCluster) find(id string) *Instance {
	for i := range f.snap.Instances {
		if f.snap.Instances[i].ID == id {
			return &f.snap.Instances[i]
		}
	}
	return &Instance{} // process targets: nothing to change in the fake
}

func (f *fakeCluster) Logs(ctx context.Context, id string, n int) ([]LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.logs[id]
	return l[max(0, len(l)-n):], nil
}

func (f *fakeCluster) acted() []Action {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Action(nil), f.actions...)
}

// served is a dashboard on a real loopback listener, as cmd will mount it.
type served struct {
	t    testing.TB
	d    *Dashboard
	c    *fakeCluster
	rec  *Recorder
	srv  *httptest.Server
	base string // http://127.0.0.1:PORT/_devcluster/
	sent int    // requests sent by sendRoundRobin, for its next instance
}

func serve(t *testing.T, n int) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newFakeCluster(n)
	rec := NewRecorder(RecorderConfig{})
	d, err := New(Config{Cluster: c, Recorder: rec, Addr: ln.Addr().String(), Interval: 100 * time.Millisecond})
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
	return &served{t: t, d: d, c: c, rec: rec, srv: srv, base: "http://" + ln.Addr().String() + DefaultPrefix}
}

// feed records n requests per instance of s, round robin.
func (s *served) feed(perInstance int, d time.Duration) {
	snap, _ := s.c.Snapshot(context.Background())
	for range perInstance {
		for _, in := range snap.Instances {
			s.rec.Record(Request{Instance: in.ID, Method: "GET", Path: "/", Status: 200, Duration: d, ID: "req-" + in.ID})
		}
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
