//go:build linux

package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestOutOfDescriptorsMarksNoInstanceDown: with devcluster out of file
// descriptors, every connect to an instance failed with "socket: too many open
// files" and the proxy took that for the instances' failure: the passive
// check marked web.1 DOWN at the first request, the active checks kept it
// down, and once descriptors were free again the first requests waited for
// an instance that was fine all along. HAProxy under the same limit marks
// none DOWN. A local resource error is the proxy's: the request gets a 503
// that says so, the checks are skipped, the instance stays UP.
//
// The limit is the process's, so the test runs itself again in a child
// process with a low RLIMIT_NOFILE, as the stdlib's tests run helpers.
func TestOutOfDescriptorsMarksNoInstanceDown(t *testing.T) {
	backend := os.Getenv("DEVCLUSTER_TEST_EMFILE_BACKEND")
	if backend == "" {
		// The instance runs here, in another process than the proxy, as
		// instances do: its descriptors are its own.
		t.Parallel()
		backend = closingServer(t, func(c net.Conn) { c.Close() }) // every request dials anew
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutOfDescriptorsMarksNoInstanceDown$", "-test.count=1", "-test.v", "-test.timeout=60s")
		cmd.Env = append(os.Environ(), "DEVCLUSTER_TEST_EMFILE_BACKEND="+backend)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the child with a low descriptor limit failed (%v):\n%s", err, out)
		}
		return
	}
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Health: HealthConfig{Interval: 20 * time.Millisecond, Fall: 2, Rise: 1}})
	tp.Enable("web.1", backend)
	// Client connections opened before the limit: the proxy's first request
	// on a connection needs a new socket to the instance (later ones may
	// connect again in the socket of the last, backendconn_linux.go).
	const fresh = 8
	type client struct {
		net.Conn
		br *bufio.Reader
	}
	var clients []client
	for range fresh + 1 {
		c, err := net.Dial("tcp", tp.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		clients = append(clients, client{c, bufio.NewReader(c)})
	}
	ask := func(c client) (int, string) {
		t.Helper()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := ask(clients[fresh]); code != 200 {
		t.Fatalf("before the limit: got %d %q, want 200", code, body)
	}
	fdDir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer fdDir.Close()
	// The listener, both ends of each client connection: all accepted.
	tstest.WaitFor(t, 5*time.Second, "the proxy to accept the clients", func() bool { return sockets(t, fdDir) >= 1+2*len(clients) })

	files := exhaustDescriptors(t)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	// A check in flight when the limit was reached frees its descriptor
	// after: then a try finds it. Take what is free before each try.
	code, body := 200, ""
	for try := 0; try < fresh && code == 200; try++ {
		files = append(files, fillDescriptors(t)...)
		code, body = ask(clients[try])
	}
	// Wait for the checks to meet the limit: a skipped check says so, a
	// failed one takes web.1 DOWN.
	tstest.WaitFor(t, 10*time.Second, "a check to meet the descriptor limit", func() bool {
		l := tp.log.String()
		return strings.Contains(l, "skipped") || strings.Contains(l, "DOWN")
	})
	state := statsOf(tp.Proxy, "web.1").State
	for _, f := range files {
		f.Close()
	}
	files = nil

	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many open files") || !strings.Contains(body, "not web.1's failure") {
		t.Errorf("out of descriptors: got %d %q, want 503 saying the proxy is out of descriptors, not web.1's failure", code, body)
	}
	if state != "up" || strings.Contains(tp.log.String(), "DOWN") {
		t.Errorf("out of descriptors: web.1 is %q; want up, never DOWN. Log:\n%s", state, tp.log.String())
	}
	start := time.Now()
	code, body = ask(clients[fresh])
	if code != 200 {
		t.Errorf("descriptors free again: got %d %q after %v, want 200", code, body, time.Since(start))
	}
	t.Logf("descriptors free again: %d in %v", code, time.Since(start).Round(time.Millisecond))
}

// exhaustDescriptors lowers the soft descriptor limit to a few above what is
// open and opens /dev/null until EMFILE; the caller closes the files.
func exhaustDescriptors(t *testing.T) []*os.File {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	lim.Cur = uint64(len(entries) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	return fillDescriptors(t)
}

// sockets counts this process's open sockets through fdDir, /proc/self/fd
// opened before the limit (reading it anew would need a descriptor).
func sockets(t *testing.T, fdDir *os.File) int {
	if _, err := fdDir.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	names, err := fdDir.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if l, err := os.Readlink("/proc/self/fd/" + name); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// fillDescriptors opens /dev/null until EMFILE.
func fillDescriptors(t *testing.T) []*os.File {
	t.Helper()
	var files []*os.File
	for range 10000 {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	t.Fatal("no EMFILE after 10,000 files")
	return nil
}
