package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

func testLines() []LogLine {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var lines []LogLine
	for i := range 6 {
		id := []string{"web.1", "web.2"}[i%2]
		lines = append(lines, LogLine{ID: id, Time: t0.Add(time.Duration(i) * time.Second), Text: fmt.Sprintf("line %d of %s", i, id)})
	}
	return lines
}

func TestLogs(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	s.fake.lines = testLines()
	tests := []struct {
		name      string
		ids       []string
		n         int
		wantTexts []string
		wantCall  string
	}{
		{"last two of one instance", []string{"web.1"}, 2, []string{"line 2 of web.1", "line 4 of web.1"}, "logs [web.1] 2 false"},
		{"all of everything", nil, -1, []string{"line 0 of web.1", "line 1 of web.2", "line 2 of web.1", "line 3 of web.2", "line 4 of web.1", "line 5 of web.2"}, "logs [] -1 false"},
		{"none", nil, 0, nil, "logs [] 0 false"},
		{"two instances", []string{"web.1", "web.2"}, 3, []string{"line 3 of web.2", "line 4 of web.1", "line 5 of web.2"}, "logs [web.1 web.2] 3 false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := s.client.Logs(context.Background(), tt.ids, tt.n, false, func(l LogLine) error {
				got = append(got, l.Text)
				if l.Time.IsZero() || l.ID == "" {
					t.Errorf("got line %+v, want ID and Time set", l)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Logs: %v", err)
			}
			if !slices.Equal(got, tt.wantTexts) {
				t.Errorf("got %q, want %q", got, tt.wantTexts)
			}
			if calls := s.fake.Calls(); calls[len(calls)-1] != tt.wantCall {
				t.Errorf("got call %q, want %q", calls[len(calls)-1], tt.wantCall)
			}
		})
	}
}

func TestLogsCallbackErrorStops(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	s.fake.lines = testLines()
	stop := errors.New("enough")
	n := 0
	err := s.client.Logs(context.Background(), nil, -1, true, func(LogLine) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("got %v, want the callback's error", err)
	}
	tstest.WaitFor(t, 5*time.Second, "the server's follower to end after the client left", func() bool { return s.fake.Following() == 0 })
}

// collector gathers lines from a Logs callback for another goroutine to read.
type collector struct {
	mu    sync.Mutex
	texts []string
}

func (c *collector) add(l LogLine) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, l.Text)
	return nil
}

func (c *collector) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.texts)
}

func TestLogsFollowEndsOnClientCancel(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	s.fake.lines = testLines()[:2]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var col collector
	done := make(chan error, 1)
	go func() { done <- s.client.Logs(ctx, []string{"web.1", "web.2"}, 1, true, col.add) }()

	tstest.WaitFor(t, 5*time.Second, "the buffered line", func() bool { return len(col.get()) == 1 })
	for i := range 3 {
		s.fake.followC <- LogLine{ID: "web.1", Time: time.Now(), Text: fmt.Sprintf("new %d", i)}
	}
	want := []string{"line 1 of web.2", "new 0", "new 1", "new 2"}
	tstest.WaitFor(t, 5*time.Second, "three followed lines", func() bool { return len(col.get()) == len(want) })
	if got := col.get(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs did not return 5s after its context was cancelled")
	}
	tstest.WaitFor(t, 5*time.Second, "the server's follower to end", func() bool { return s.fake.Following() == 0 })
}

func TestLogsFollowEndsWhenServerStops(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	var col collector
	done := make(chan error, 1)
	// No line buffered: the stream has sent nothing when the server stops.
	go func() { done <- s.client.Logs(context.Background(), nil, -1, true, col.add) }()
	tstest.WaitFor(t, 5*time.Second, "the follower to start", func() bool { return s.fake.Following() == 1 })
	s.fake.followC <- LogLine{ID: "web.1", Time: time.Now(), Text: "hello"}
	tstest.WaitFor(t, 5*time.Second, "the followed line", func() bool { return len(col.get()) == 1 })

	s.cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want nil (a clean end of stream)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs did not return 5s after the server stopped")
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return 5s after its context ended")
	}
}

// A client that stops reading must not keep Serve from returning.
func TestServeReturnsWithStalledFollower(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.client.Logs(ctx, nil, -1, true, func(LogLine) error {
			<-release // stall: stop reading the stream
			return nil
		})
	}()
	tstest.WaitFor(t, 5*time.Second, "the follower to start", func() bool { return s.fake.Following() == 1 })
	// Enough output to fill the socket buffers behind the stalled reader.
	big := string(make([]byte, 64<<10))
	sent := 0
	for sent < 64 {
		select {
		case s.fake.followC <- LogLine{ID: "web.1", Text: big}:
			sent++
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break // the server is blocked writing
	}
	if sent == 64 {
		// 4 MiB went through a stalled reader: the server never blocked, and the
		// rest of the test would check nothing.
		t.Fatalf("the server took all %d lines of 64 KiB without blocking on the stalled follower", sent)
	}
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10s after its context ended with a stalled follower")
	}
	close(release)
	cancel()
	<-done
}

func TestLogsErrorAfterFirstLine(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	s.fake.lines = testLines()[:2]
	s.fake.logsErr = errors.New("web.1: log buffer was reset by a scale down")
	var col collector
	err := s.client.Logs(context.Background(), nil, -1, false, col.add)
	if err == nil || err.Error() != "web.1: log buffer was reset by a scale down" {
		t.Errorf("got %v, want the cluster's error after the lines", err)
	}
	if got := col.get(); len(got) != 2 {
		t.Errorf("got lines %q before the error, want 2", got)
	}
}
