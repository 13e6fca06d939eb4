package supervisor

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkOutputLine measures the multiplexer's cost per child line (prefix,
// colour, ring buffer, one follower).
func BenchmarkOutputLine(b *testing.B) {
	o := newOutput(io.Discard, io.Discard, true, time.Now, 1000)
	sub := o.subscribe(nil)
	go func() {
		for range sub.ch {
		}
	}()
	text := strings.Repeat("x", 100)
	b.ReportAllocs()
	for b.Loop() {
		o.line("web.1", text)
	}
	o.closeAll()
}

// BenchmarkRestartInstance measures one rolling step (drain → stop → port free →
// start → ready) of a helper HTTP server; the child's start-up dominates.
func BenchmarkRestartInstance(b *testing.B) {
	tag := "bench"
	s, err := New(Config{
		Specs:    []InstanceSpec{helperSpec(tag, "web.1", freePortB(b), "serve")},
		Balancer: newFakeBalancer(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			b.Error(err)
		}
	}()
	<-s.Ready()
	for b.Loop() {
		if err := s.Restart(ctx, "web.1"); err != nil {
			b.Fatal(err)
		}
	}
}

func freePortB(b *testing.B) int {
	b.Helper()
	p, err := pickPort()
	if err != nil {
		b.Fatal(err)
	}
	return p
}
