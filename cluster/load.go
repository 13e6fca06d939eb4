package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/loadgen"
)

// Loads is the load the dashboard starts and stops: devcluster load from a
// button, sent through the cluster's own proxy, one at a time and always
// bounded (a duration). Its state shows on the page as its own series.
type Loads struct {
	url string      // the proxy's URL, "http://127.0.0.1:8080"
	tls *tls.Config // for an https:// url: roots that trust its certificate

	mu     sync.Mutex
	state  *dashboard.LoadState // the running or last load; nil: none yet
	cancel context.CancelFunc   // of the running load
	wg     sync.WaitGroup       // the running load's goroutine
}

// LoadSpec is what a load asks.
type LoadSpec struct {
	Path     string
	Users    int
	Rate     float64 // requests due per second; 0: closed loop
	Duration time.Duration
}

// ErrLoadRunning is Start's refusal while a load runs.
var ErrLoadRunning = errors.New("a load is running; stop it first")

// NewLoads returns the runner for loads to proxyURL.
func NewLoads(proxyURL string, tlsConfig *tls.Config) *Loads {
	return &Loads{url: proxyURL, tls: tlsConfig}
}

// Start begins a load and returns at once.
func (l *Loads) Start(spec LoadSpec) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != nil && l.state.Running {
		return ErrLoadRunning
	}
	st := &dashboard.LoadState{Running: true, Path: spec.Path, Users: spec.Users, Rate: spec.Rate,
		DurationMS: float64(spec.Duration) / float64(time.Millisecond), Instances: map[string]int64{}}
	g, err := loadgen.New(loadgen.Config{URL: l.url + spec.Path, Connections: spec.Users, Rate: spec.Rate,
		Duration: spec.Duration, KeepAlive: true, Cookies: true, TLS: l.tls,
		Every: func(p loadgen.Progress) { l.update(st, p, true) }})
	if err != nil {
		return fmt.Errorf("load %s: %w", spec.Path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.state, l.cancel = st, cancel
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer cancel()
		res := g.Run(ctx)
		l.update(st, loadgen.Progress{Result: res}, false)
	}()
	return nil
}

// update records p as st's totals; running false: the load has ended.
func (l *Loads) update(st *dashboard.LoadState, p loadgen.Progress, running bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st.Running = running
	st.ElapsedMS = float64(p.Elapsed) / float64(time.Millisecond)
	st.Requests, st.Failed = p.Requests, p.Failed
	st.P50MS = float64(p.Latency.P50) / float64(time.Millisecond)
	st.P99MS = float64(p.Latency.P99) / float64(time.Millisecond)
	st.Instances = maps.Clone(p.Instances)
	switch {
	case !running:
		st.RPS = 0
	case p.IntervalTime > 0:
		st.RPS = float64(p.Interval) / p.IntervalTime.Seconds()
	}
}

// Stop ends the running load, if any: no new request is sent; those in
// flight end by themselves (within loadgen's request timeout).
func (l *Loads) Stop() {
	l.mu.Lock()
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Close stops the running load and waits until its last request has ended:
// the cluster's stop, before the proxy's.
func (l *Loads) Close() {
	l.Stop()
	l.wg.Wait()
}

// State returns a copy of the running or last load's state, nil if none.
func (l *Loads) State() *dashboard.LoadState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == nil {
		return nil
	}
	st := *l.state
	st.Instances = maps.Clone(l.state.Instances)
	return &st
}
