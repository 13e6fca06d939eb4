package main

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestKeyReaderEndsWhileInputStaysOpen: r + Enter on a file (here a pipe, as a
// terminal) reloads, and interrupt ends run although the input never ends: the
// goroutine blocked on the terminal used to outlive up.
func TestKeyReaderEndsWhileInputStaysOpen(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	k := newKeyReader(r)
	var reloads atomic.Int32
	done := make(chan error, 1)
	go func() { done <- k.run(func() { reloads.Add(1) }) }()
	if _, err := w.WriteString("r\nx\n r \n"); err != nil {
		t.Fatal(err)
	}
	tstest.WaitFor(t, 5*time.Second, "two reloads", func() bool { return reloads.Load() == 2 })
	k.interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run still reads the open pipe 5s after interrupt")
	}
	if got := reloads.Load(); got != 2 {
		t.Errorf("got %d reloads, want 2", got)
	}
}
