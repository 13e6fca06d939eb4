package supervisor

import (
	"context"
	"fmt"
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

// BenchmarkReloadWaves measures one Reload of 8 helper HTTP servers with one
// instance at a time and with waves of 4 (the canary, then 4, then 3).
func BenchmarkReloadWaves(b *testing.B) {
	for _, maxUnavailable := range []int{1, 4} {
		b.Run(fmt.Sprintf("instances=8/max_unavailable=%d", maxUnavailable), func(b *testing.B) {
			var specs []InstanceSpec
			for i := 1; i <= 8; i++ {
				sp := helperSpec("bench", fmt.Sprintf("web.%d", i), freePortB(b), "serve")
				sp.MaxUnavailable = maxUnavailable
				specs = append(specs, sp)
			}
			s, err := New(Config{Specs: specs, Balancer: newFakeBalancer()})
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
				if err := s.Reload(ctx, "web"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
