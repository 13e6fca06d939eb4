package control

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeCluster records calls and answers from fields set by the test. It is a
// fake of control's own interface, not of another package.
type fakeCluster struct {
	mu        sync.Mutex
	status    Status
	calls     []string
	err       error     // returned by every operation when set
	lines     []LogLine // buffered lines
	following int       // Logs calls in follow mode still running
	followC   chan LogLine
	downC     chan struct{} // closed by Down
	block     chan struct{} // when set, Restart waits for it or ctx
	logsErr   error         // returned by Logs after the buffered lines
	noFollow  bool          // Logs returns after the buffered lines even with follow
	blocking  int           // Restart calls waiting on block
	faults    []Fault       // SetFault appends, ClearFaults removes
	faultNow  time.Time     // Since of the faults SetFault records
}

func newFake() *fakeCluster {
	return &fakeCluster{followC: make(chan LogLine), downC: make(chan struct{})}
}

func (f *fakeCluster) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeCluster) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeCluster) Status(ctx context.Context) (Status, error) {
	if err := f.record("status"); err != nil {
		return Status{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}

func (f *fakeCluster) Restart(ctx context.Context, targets []string) error {
	if err := f.record(fmt.Sprintf("restart %v", targets)); err != nil {
		return err
	}
	f.mu.Lock()
	block := f.block
	f.blocking++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.blocking--
		f.mu.Unlock()
	}()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return fmt.Errorf("restart interrupted: %w", ctx.Err())
		}
	}
	return nil
}

func (f *fakeCluster) Stop(ctx context.Context, ids []string) error {
	return f.record(fmt.Sprintf("stop %v", ids))
}

func (f *fakeCluster) Start(ctx context.Context, ids []string) error {
	return f.record(fmt.Sprintf("start %v", ids))
}

func (f *fakeCluster) Scale(ctx context.Context, process string, n int) error {
	return f.record(fmt.Sprintf("scale %s %d", process, n))
}

func (f *fakeCluster) Logs(ctx context.Context, ids []string, n int, follow bool, out func(LogLine) error) error {
	if err := f.record(fmt.Sprintf("logs %v %d %v", ids, n, follow)); err != nil {
		return err
	}
	f.mu.Lock()
	var sel []LogLine
	for _, l := range f.lines {
		if len(ids) == 0 || slices.Contains(ids, l.ID) {
			sel = append(sel, l)
		}
	}
	if n >= 0 && len(sel) > n {
		sel = sel[len(sel)-n:]
	}
	if follow {
		f.following++
		defer func() {
			f.mu.Lock()
			f.following--
			f.mu.Unlock()
		}()
	}
	f.mu.Unlock()
	for _, l := range sel {
		if err := out(l); err != nil {
			return err
		}
	}
	if f.logsErr != nil {
		return f.logsErr
	}
	if !follow || f.noFollow {
		return nil
	}
	for {
		select {
		case l := <-f.followC:
			if err := out(l); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *fakeCluster) Down(ctx context.Context) error {
	if err := f.record("down"); err != nil {
		return err
	}
	close(f.downC)
	return nil
}

func (f *fakeCluster) Following() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.following
}

// served is a fake cluster served on a socket in a temporary project.
type served struct {
	dir, path string
	fake      *fakeCluster
	cancel    context.CancelFunc
	done      chan error // Serve's result
	client    *Client
}

// serveFake listens in a new project directory and serves a fake cluster
// until the test ends (or s.cancel). dir is the project directory; "" makes one.
func serveFake(t testing.TB, dir string) *served {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s := &served{dir: dir, path: SocketPath(dir), fake: newFake(), done: make(chan error, 1)}
	s.fake.status = Status{PID: os.Getpid(), Dir: dir, Manifest: filepath.Join(dir, "Procfile"), Proxy: "127.0.0.1:8080"}
	ln, err := Listen(s.path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	srv := NewServer(s.fake)
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
			s.done <- err
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return 10s after its context ended")
		}
	})
	c, err := Dial(s.path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	s.client = c
	return s
}

// rawClient makes plain HTTP requests to the socket, bypassing Client.
func rawClient(t *testing.T, path string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialUnixAddr(ctx, path)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func (f *fakeCluster) SetFault(ctx context.Context, ft Fault) (Fault, error) {
	if err := f.record(fmt.Sprintf("fault %s", ft)); err != nil {
		return Fault{}, err
	}
	if ft.Instant() {
		return Fault{}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ft.Since = f.faultNow
	if ft.For > 0 {
		ft.Until = ft.Since.Add(ft.For)
	}
	f.faults = append(f.faults, ft)
	return ft, nil
}

func (f *fakeCluster) ClearFaults(ctx context.Context, instance string) ([]Fault, error) {
	if err := f.record(fmt.Sprintf("clear %q", instance)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kept, cleared []Fault
	for _, ft := range f.faults {
		if instance == "" || ft.Instance == instance {
			cleared = append(cleared, ft)
		} else {
			kept = append(kept, ft)
		}
	}
	f.faults = kept
	return cleared, nil
}

func (f *fakeCluster) Faults(ctx context.Context) ([]Fault, error) {
	if err := f.record("faults"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.faults), nil
}
