// Package helper is a fixture: a test helper package whose functions fail the test.
package helper

import (
	"testing"
	"time"
)

// WaitFor fails the test after timeout (like tstest.WaitFor).
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !cond() {
		t.Fatalf("timed out after %s", timeout)
	}
}

// Poll only reports; it never fails the test.
func Poll(timeout time.Duration, cond func() bool) bool { return cond() }

// Page holds its test like browsertest's page.
type Page struct {
	t testing.TB
}

// MustClick fails through its field.
func (p *Page) MustClick() { p.t.Fatal("no such element") }

// Text does not fail.
func (p *Page) Text() string { return "" }
