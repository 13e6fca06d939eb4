package control

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkStatus is one `devcluster ps` round trip (client, socket, server,
// fake cluster with 10 instances), on a reused connection.
func BenchmarkStatus(b *testing.B) {
	s := serveFake(b, "")
	for i := range 10 {
		s.fake.status.Instances = append(s.fake.status.Instances, Instance{ID: fmt.Sprintf("web.%d", i+1), State: StateReady, Since: time.Now()})
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.client.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDialStatus is what a fresh `devcluster ps` process pays: Dial, then
// Status on a new connection.
func BenchmarkDialStatus(b *testing.B) {
	s := serveFake(b, "")
	ctx := context.Background()
	for b.Loop() {
		c, err := Dial(s.path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Status(ctx); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkLogs streams 10,000 buffered 100-byte lines per op.
func BenchmarkLogs(b *testing.B) {
	s := serveFake(b, "")
	const n = 10000
	text := fmt.Sprintf("%0100d", 0)
	for range n {
		s.fake.lines = append(s.fake.lines, LogLine{ID: "web.1", Time: time.Now(), Text: text})
	}
	ctx := context.Background()
	b.SetBytes(n * 100)
	for b.Loop() {
		got := 0
		if err := s.client.Logs(ctx, nil, -1, false, func(LogLine) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("got %d lines, want %d", got, n)
		}
	}
}
