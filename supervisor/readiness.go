package supervisor

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

const (
	// probeInterval is short because a rolling reload waits for each instance in
	// turn: every interval's slack is paid once per instance. A refused loopback
	// connect costs a few microseconds.
	probeInterval = 20 * time.Millisecond
	probeTimeout  = 500 * time.Millisecond
	// fastProbeInterval is the readiness checks' interval for the first
	// fastProbeFor of a start (see nextProbe).
	fastProbeInterval = 5 * time.Millisecond
	fastProbeFor      = time.Second
)

// probe closes ready once sp is ready: its port accepts TCP (balanced instances
// only) and its health path, if any, answers 2xx/3xx. An instance with neither is
// ready as soon as it runs. probe returns when ctx ends (the child exited).
func probe(ctx context.Context, sp InstanceSpec, ready chan<- struct{}) {
	needTCP := sp.Balanced && sp.Port > 0
	needHTTP := sp.HealthPath != "" && sp.Port > 0
	if !needTCP && !needHTTP {
		close(ready)
		return
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sp.Port))
	client := &http.Client{
		Timeout:   probeTimeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect (to a login page, say) already proves the app answers.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "http://" + addr + sp.HealthPath
	if len(sp.HealthPath) > 0 && sp.HealthPath[0] != '/' {
		url = "http://" + addr + "/" + sp.HealthPath
	}
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if check(ctx, client, addr, url, needHTTP) {
			close(ready)
			return
		}
		t.Reset(nextProbe(time.Since(start)))
	}
}

// nextProbe is the wait before the next readiness check, since started ago: a
// warm standby is ready within ~40 ms, where probeInterval's slack would be a
// quarter of its start, so the first second is probed every fastProbeInterval.
func nextProbe(ago time.Duration) time.Duration {
	if ago < fastProbeFor {
		return fastProbeInterval
	}
	return probeInterval
}

func check(ctx context.Context, client *http.Client, addr, url string, needHTTP bool) bool {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	if !needHTTP {
		return true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}
