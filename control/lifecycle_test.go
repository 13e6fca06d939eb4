package control

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

func TestServeWaitsForHandlers(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	s.fake.mu.Lock()
	s.fake.block = make(chan struct{}) // never closed: Restart ends only by ctx
	s.fake.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.client.Restart(context.Background(), []string{"web"}) }()
	tstest.WaitFor(t, 5*time.Second, "the restart to be in progress", func() bool {
		s.fake.mu.Lock()
		defer s.fake.mu.Unlock()
		return s.fake.blocking == 1
	})
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10s after its context ended")
	}
	s.fake.mu.Lock()
	blocking := s.fake.blocking
	s.fake.mu.Unlock()
	if blocking != 0 {
		t.Errorf("got %d Restart calls still running after Serve returned, want 0", blocking)
	}
	err := <-done
	if err == nil {
		t.Fatal("got nil from a restart interrupted by shutdown, want an error")
	}
	if _, statErr := os.Lstat(s.path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("got %v for the socket after Serve returned, want it removed", statErr)
	}
}

func TestDown(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	// The cluster's clean stop: here, just stop serving once Down was asked.
	go func() {
		<-s.fake.downC
		s.cancel()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	// Down returns once the socket is gone, which Serve's shutdown does first.
	if _, err := os.Lstat(s.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v for the socket after down, want it removed", err)
	}
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return 5s after down")
	}
	_, err := s.client.Status(context.Background())
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("got %v from Status after down, want ErrNotRunning", err)
	}
}

func TestDownWaitsForContext(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "") // Down is recorded but the cluster never stops
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.client.Down(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error while the cluster keeps running", err)
	}
}
