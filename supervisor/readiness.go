package supervisor

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
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

// probe closes ready once sp is ready: by its ready: rule when it has one (a
// line of its output, logSeen, a command, a port), else its port accepts TCP
// (balanced instances only) and its health path, if any, answers 2xx/3xx. An
// instance with none of these passes as soon as it runs (it is then only
// StateRunning). probe returns when ctx ends (the child exited).
func probe(ctx context.Context, sp InstanceSpec, ready chan<- struct{}, logSeen <-chan struct{}) {
	switch {
	case sp.ReadyLog != "":
		select {
		case <-logSeen:
			close(ready)
		case <-ctx.Done():
		}
		return
	case sp.ReadyCommand != "":
		probeCommand(ctx, sp, ready)
		return
	case sp.ReadyTCP > 0:
		sp = InstanceSpec{Port: sp.ReadyTCP, Balanced: true}
	}
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
	poll(ctx, ready, nextProbe, func() bool { return check(ctx, client, addr, url, needHTTP) })
}

// poll runs ok at once and then after every wait(time since the first run)
// until it returns true, then closes ready; it returns early when ctx ends.
func poll(ctx context.Context, ready chan<- struct{}, wait func(ago time.Duration) time.Duration, ok func() bool) {
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ok() {
			close(ready)
			return
		}
		t.Reset(wait(time.Since(start)))
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

// probeCommand runs sp.ReadyCommand until it exits 0, then closes ready; each
// run is bounded by defaults.ReadyCommandTimeout and killed with its process
// group when ctx ends.
func probeCommand(ctx context.Context, sp InstanceSpec, ready chan<- struct{}) {
	poll(ctx, ready, func(time.Duration) time.Duration { return defaults.ReadyCommandInterval },
		func() bool { return runReadyCommand(ctx, sp) })
}

func runReadyCommand(ctx context.Context, sp InstanceSpec) bool {
	ctx, cancel := context.WithTimeout(ctx, defaults.ReadyCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", sp.ReadyCommand)
	cmd.Dir = sp.Dir
	// The instance's environment, PORT included, but not its marker: the
	// check is devcluster's, not one of the instance's processes.
	cmd.Env = childEnv(sp, "")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run() == nil
}
