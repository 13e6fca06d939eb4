package export

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/devcluster/devcluster/procfile"
)

// Ports of the round trip: three Flask instances and the balancers in front of
// them, loopback only, below 32768, used by no other test of the repository.
const (
	rtBasePort    = 23400
	rtHAProxy     = 23480
	rtHAProxyStat = 23481
	rtSticky      = 23482
	rtStickyStat  = 23483
	rtNginx       = 23484
)

// TestRoundTripBalancesAsDevcluster starts the Flask example's three
// instances as devcluster up would (the manifest's command under /bin/sh -c,
// PORT and PS set), then the real HAProxy and the real nginx, each with its
// exported config: 30 requests spread 10/10/10 by instance, as devcluster's
// round-robin does; with sticky: cookie, HAProxy keeps a client on one
// instance and names it in the DEVCLUSTER_SRV cookie, as devcluster does.
// Every process it starts is stopped by PID and every port is free at the end.
func TestRoundTripBalancesAsDevcluster(t *testing.T) {
	haproxy := needTool(t, "haproxy", "haproxy")
	nginx := needTool(t, "nginx", "nginx")
	needFlask(t)
	for _, port := range []int{rtBasePort, rtBasePort + 1, rtBasePort + 2, rtHAProxy, rtHAProxyStat, rtSticky, rtStickyStat, rtNginx} {
		if !portFree(port) {
			t.Fatalf("port %d is in use; the round trip needs it", port)
		}
	}
	m, err := procfile.Load("../Procfile.example")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Formation: map[string]int{"web": 3}, BasePort: rtBasePort, Invocation: "round trip"}
	c := build(t, m, opts, "127.0.0.1:"+itoa(rtHAProxy), "127.0.0.1:"+itoa(rtHAProxyStat))
	for _, in := range c.Processes[0].Instances {
		startInstance(t, m.Dir, c.Processes[0], in)
	}
	for _, in := range c.Processes[0].Instances {
		waitHTTP(t, "http://"+hostPort("127.0.0.1", in.Port)+"/health")
	}
	want := "web.1 10, web.2 10, web.3 10"

	t.Run("haproxy", func(t *testing.T) {
		dir := writeFiles(t, mustRender(t, c, "haproxy"))
		startDaemon(t, dir, rtHAProxy, haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
		if got := spread(t, rtHAProxy, 30); got != want {
			t.Errorf("HAProxy spread 30 requests as %s, want %s", got, want)
		}
	})
	t.Run("nginx", func(t *testing.T) {
		cn := build(t, m, opts, "127.0.0.1:"+itoa(rtNginx), "")
		dir := writeFiles(t, mustRender(t, cn, "nginx"))
		startDaemon(t, dir, rtNginx, nginx, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
		if got := spread(t, rtNginx, 30); got != want {
			t.Errorf("nginx spread 30 requests as %s, want %s", got, want)
		}
	})
	t.Run("haproxy sticky cookie", func(t *testing.T) {
		sticky := *m
		sticky.Proxy.Sticky = "cookie"
		cs := build(t, &sticky, opts, "127.0.0.1:"+itoa(rtSticky), "127.0.0.1:"+itoa(rtStickyStat))
		dir := writeFiles(t, mustRender(t, cs, "haproxy"))
		startDaemon(t, dir, rtSticky, haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
		seen := map[string]bool{}
		for client := range 3 {
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
			first := ""
			for i := range 10 {
				id := get(t, hc, rtSticky)
				if first == "" {
					first = id
				}
				if id != first {
					t.Fatalf("client %d, request %d: answered by %s, want %s (sticky: cookie)", client+1, i+1, id, first)
				}
			}
			u := "http://127.0.0.1:" + itoa(rtSticky) + "/"
			req, _ := http.NewRequest("GET", u, nil)
			if ck := jar.Cookies(req.URL); len(ck) != 1 || ck[0].Name != defaultCookieName(cs) || ck[0].Value != first {
				t.Errorf("client %d: cookies %v, want %s=%s", client+1, ck, defaultCookieName(cs), first)
			}
			seen[first] = true
		}
		if len(seen) != 3 {
			t.Errorf("three new clients went to %v, want one instance each (round-robin before the cookie)", seen)
		}
	})
	// Last, as they stop an instance: the retry rule. A request that crashes its
	// instance is not replayed on the others (the query of death), and then no
	// request fails while the dead instance's connections are refused.
	t.Run("haproxy retry rule", func(t *testing.T) {
		dir := writeFiles(t, mustRender(t, c, "haproxy"))
		startDaemon(t, dir, rtHAProxy, haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
		resp, err := hc.Get("http://127.0.0.1:" + itoa(rtHAProxy) + "/crash")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("GET /crash: %s, want 502 Bad Gateway", resp.Status)
		}
		instances := c.Processes[0].Instances
		tstest.WaitFor(t, 10*time.Second, "the crashed instance to go", func() bool { return answering(instances) < 3 })
		if n := answering(instances); n != 2 {
			t.Fatalf("%d instances answer after one GET /crash, want 2: HAProxy replayed the request", n)
		}
		for range 30 {
			get(t, hc, rtHAProxy) // fails the test on any error
		}
	})
	t.Run("nginx with an instance gone", func(t *testing.T) {
		cn := build(t, m, opts, "127.0.0.1:"+itoa(rtNginx), "")
		dir := writeFiles(t, mustRender(t, cn, "nginx"))
		startDaemon(t, dir, rtNginx, nginx, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
		if n := answering(c.Processes[0].Instances); n != 2 {
			t.Fatalf("%d instances answer, want 2", n)
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
		for range 30 {
			get(t, hc, rtNginx)
		}
	})
}

// answering counts the instances whose /health answers, asked directly.
func answering(instances []Instance) int {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	n := 0
	for _, in := range instances {
		resp, err := hc.Get("http://" + hostPort("127.0.0.1", in.Port) + "/health")
		if err == nil {
			resp.Body.Close()
			n++
		}
	}
	return n
}

func defaultCookieName(c *Cluster) string { return c.Cookie }

func build(t *testing.T, m *procfile.Manifest, opts Options, listen, stats string) *Cluster {
	t.Helper()
	opts.Listen, opts.StatsListen = listen, stats
	c, err := Build(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRender(t *testing.T, c *Cluster, format string) *Result {
	t.Helper()
	r, err := Render(c, format)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func needFlask(t *testing.T) {
	t.Helper()
	tstest.NeedModules(t, "python3", "flask")
}

// startInstance runs one instance as devcluster's supervisor does: the
// manifest's command under /bin/sh -c in the manifest's directory, in its own
// process group, with PORT and PS. It is stopped (group SIGTERM, then KILL)
// and reaped when the test ends.
func startInstance(t *testing.T, dir string, p *Process, in Instance) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", p.ShellCommand())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+itoa(in.Port), "PS="+in.ID, "PYTHONUNBUFFERED=1", "WERKZEUG_RUN_MAIN=", "WERKZEUG_SERVER_FD=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out tstest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, cmd, in.Port, &out)
}

// startDaemon runs a balancer in the foreground and waits for its port.
func startDaemon(t *testing.T, dir string, port int, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out tstest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, cmd, port, &out)
	tstest.WaitFor(t, 15*time.Second, fmt.Sprintf("%s to listen on %d (output: %s)", filepath.Base(name), port, &out), func() bool {
		return !portFree(port)
	})
}

// stopOnCleanup ends the process group of cmd by its PID when the test ends,
// reaps it, and checks that nothing of it is left: the group is empty and the
// port is free.
func stopOnCleanup(t *testing.T, cmd *exec.Cmd, port int, out fmt.Stringer) {
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		if !tstest.Poll(10*time.Second, func() bool { return errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH) }) {
			syscall.Kill(-pid, syscall.SIGKILL)
			t.Errorf("process group %d still has members after SIGTERM", pid)
		}
		if !tstest.Poll(10*time.Second, func() bool { return portFree(port) }) {
			t.Errorf("port %d still in use after stopping pid %d", port, pid)
		}
		if t.Failed() {
			t.Logf("output of pid %d (%s):\n%s", pid, strings.Join(cmd.Args, " "), out)
		}
	})
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", hostPort("127.0.0.1", port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	tstest.WaitFor(t, 30*time.Second, url+" to answer", func() bool {
		resp, err := hc.Get(url)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// helloRE reads the instance from the Flask example's answer.
var helloRE = regexp.MustCompile(`^Hello from (web\.\d+) `)

// get sends one request and returns the instance that answered, checking
// that the balancer's X-Devcluster-Instance agrees with the app.
func get(t *testing.T, hc *http.Client, port int) string {
	t.Helper()
	resp, err := hc.Get("http://127.0.0.1:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := helloRE.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /: %s %q", resp.Status, body)
	}
	if h := resp.Header.Get("X-Devcluster-Instance"); h != m[1] {
		t.Errorf("X-Devcluster-Instance %q, but %s answered", h, m[1])
	}
	return m[1]
}

// spread sends n sequential requests on a keep-alive client, as the CLI
// scripts' balance command does, and counts them by instance.
func spread(t *testing.T, port, n int) string {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	counts := map[string]int{}
	for range n {
		counts[get(t, hc, port)]++
	}
	var parts []string
	for i := 1; i <= len(counts) || i <= 3; i++ {
		id := "web." + strconv.Itoa(i)
		parts = append(parts, fmt.Sprintf("%s %d", id, counts[id]))
	}
	return strings.Join(parts, ", ")
}
