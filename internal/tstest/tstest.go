// Package tstest holds the few helpers every package's tests share: polling with a
// deadline instead of sleeping, and a buffer that goroutines under test may write
// while the test reads it. Named after tailscale's tstest, which it imitates.
package tstest

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// PollInterval is how often WaitFor and Poll try their condition.
const PollInterval = 5 * time.Millisecond

// Poll tries cond until it holds or timeout passes, and reports whether it held.
// Use it where a test needs the outcome itself (a CLI script's condition, a
// negative check); WaitFor is the usual form.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
	return true
}

// WaitFor polls cond until it holds, or fails the test after timeout with "timed
// out after TIMEOUT waiting for WHAT".
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// Buffer is a bytes.Buffer safe for concurrent writers and readers: the log writer
// a test hands to the code under test and reads while it runs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset discards everything written so far.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}
