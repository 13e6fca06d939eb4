package linebuf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// gate is a destination whose writes block until it is opened, then go to a
// buffer.
type gate struct {
	open    chan struct{}
	mu      sync.Mutex
	buf     strings.Builder
	writing chan struct{} // gets a value when a write starts
}

func newGate() *gate { return &gate{open: make(chan struct{}), writing: make(chan struct{}, 1)} }

func (g *gate) Write(p []byte) (int, error) {
	select {
	case g.writing <- struct{}{}:
	default:
	}
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// TestWriteNeverWaitsForTheReader: with the destination stuck, every Write
// returns at once; what does not fit is dropped and counted, and once the
// reader is back a marker line says how many, in their place.
func TestWriteNeverWaitsForTheReader(t *testing.T) {
	t.Parallel()
	g := newGate()
	w := New(g, Config{MaxLines: 10})
	fmt.Fprintf(w, "line 0\n")
	<-g.writing // the goroutine holds "line 0" in a write that does not return
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 1000; i++ {
			fmt.Fprintf(w, "line %d\n", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("1000 writes did not return within 10 s while the destination was stuck")
	}
	if got, want := w.Dropped(), int64(990); got != want {
		t.Errorf("Dropped() = %d, want %d (10 queued)", got, want)
	}
	close(g.open)
	tstest.WaitFor(t, 10*time.Second, "the queued lines to be written", func() bool { return strings.Contains(g.String(), "line 10\n") })
	fmt.Fprintf(w, "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 0; i <= 10; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	want.WriteString("[devcluster: 990 lines dropped, reader too slow]\nafter\n")
	if got := g.String(); got != want.String() {
		t.Errorf("written:\n%s\nwant:\n%s", got, want.String())
	}
}

// TestByteBound: the queue is bounded in bytes as well as in writes; a block of
// lines dropped counts each of its lines.
func TestByteBound(t *testing.T) {
	t.Parallel()
	g := newGate()
	w := New(g, Config{MaxBytes: 100, Marker: func(n int64) string { return fmt.Sprintf("-- %d dropped", n) }})
	io.WriteString(w, "first\n")
	<-g.writing
	io.WriteString(w, strings.Repeat("x", 95)+"\n") // 96 bytes: fits ("first" is being written, not queued)
	io.WriteString(w, "a\nb\nc\n")                  // 102 bytes: over
	close(g.open)
	w.Close()
	if got, want := g.String(), "first\n"+strings.Repeat("x", 95)+"\n-- 3 dropped\n"; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
}

// TestClosedReaderStopsWrites: a pipe whose reader has gone fails with EPIPE
// (for fds 1 and 2 only once SIGPIPE is handled, as cmd does); OnError
// hears of it once, and later writes return at once without writing.
func TestClosedReaderStopsWrites(t *testing.T) {
	t.Parallel()
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	r.Close()
	errs := make(chan error, 10)
	w := New(pw, Config{OnError: func(err error) { errs <- err }})
	for i := 0; i < 100; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, syscall.EPIPE) {
			t.Errorf("OnError(%v), want EPIPE", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnError not called within 10 s of writing to a pipe without a reader")
	}
	tstest.WaitFor(t, 5*time.Second, "Err to report EPIPE", func() bool { return errors.Is(w.Err(), syscall.EPIPE) })
	fmt.Fprintf(w, "later\n")
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Close() = %v, want EPIPE", err)
	}
	if len(errs) != 0 {
		t.Errorf("OnError called %d more times", len(errs))
	}
}

// TestCloseIsBoundedWhenStuck: Close of a Writer whose destination never
// returns gives up after FlushTimeout instead of hanging the caller's exit.
func TestCloseIsBoundedWhenStuck(t *testing.T) {
	t.Parallel()
	g := newGate()
	defer close(g.open)
	w := New(g, Config{FlushTimeout: 50 * time.Millisecond})
	io.WriteString(w, "stuck\n")
	<-g.writing
	done := make(chan error, 1)
	go func() { done <- w.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s with the destination stuck")
	}
}

// TestConcurrentWritesStayWhole: lines written from many goroutines come out
// whole, each exactly once.
func TestConcurrentWritesStayWhole(t *testing.T) {
	t.Parallel()
	var b tstest.Buffer
	w := New(&b, Config{MaxLines: 1 << 20, MaxBytes: 1 << 30})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				fmt.Fprintf(w, "g%d line %d %s\n", g, i, strings.Repeat("y", 50))
			}
		}()
	}
	wg.Wait()
	w.Close()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4000 {
		t.Fatalf("%d lines, want 4000", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if !strings.HasSuffix(l, strings.Repeat("y", 50)) || seen[l] {
			t.Fatalf("torn or repeated line %q", l)
		}
		seen[l] = true
	}
}
