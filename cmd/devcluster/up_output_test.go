package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestUpServesWhileStdoutIsUnreadOrClosed (issue 21 item 1): `devcluster up
// --access-log` with its stdout a pipe that nobody reads serves 3,000 requests
// (old: after a few hundred, every request timed out, each connection's
// goroutine blocked writing its access-log line, then the instances' own pipes
// filled); once the reader is back, a marker says how many lines were dropped;
// once the reader has gone (stdout closed), devcluster keeps serving and says
// so on stderr (old: killed by SIGPIPE, exit 141, taking the instances with
// it); Ctrl-C then stops it cleanly.
func TestUpServesWhileStdoutIsUnreadOrClosed(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("devcluster")
	if err != nil {
		t.Fatalf("devcluster is not on PATH (testscript.Main should have put it there): %v", err)
	}
	const base, listen = 27420, 27429
	dir := noisyProject(t)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	var stderr tstest.Buffer
	cmd := exec.Command(bin, "up", "-m", "web=2", "--port", strconv.Itoa(base),
		"--listen", "127.0.0.1:"+strconv.Itoa(listen), "--no-watch", "--access-log")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = outW, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()

	get := proxyGetter(t, listen)
	if err := get(3000); err != nil {
		t.Fatalf("with stdout unread: %v", err)
	}

	// The reader comes back: the lines kept come out, then the marker.
	var mu sync.Mutex
	var seen bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64<<10)
		for {
			n, err := outR.Read(buf)
			mu.Lock()
			seen.Write(buf[:n])
			marker := strings.Contains(seen.String(), " lines dropped, reader too slow]")
			mu.Unlock()
			if err != nil || marker {
				return
			}
		}
	}()
	markerSeen := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(seen.String(), " lines dropped, reader too slow]")
	}
	tstest.WaitFor(t, 30*time.Second, "the dropped-lines marker on stdout", func() bool {
		_ = get(1) // a line after the drops carries the marker out
		return markerSeen()
	})
	<-readDone

	// The reader goes: devcluster must live on and serve.
	outR.Close()
	if err := get(500); err != nil {
		t.Fatalf("with stdout closed: %v", err)
	}
	tstest.WaitFor(t, 10*time.Second, "stderr to say stdout is closed", func() bool {
		return strings.Contains(stderr.String(), "stdout is closed") && strings.Contains(stderr.String(), "the cluster keeps serving")
	})
	select {
	case err := <-exited:
		stopped = true
		t.Fatalf("devcluster exited with stdout closed: %v", err)
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Errorf("after SIGINT devcluster exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("devcluster did not stop within 30 s of SIGINT")
	}
	waitPortsFree(t, base, base+1, listen)
}

// TestUpServesWithStdoutAndStderrUnread: a terminal paused with Ctrl-S blocks
// both of devcluster's streams; with both a pipe nobody reads, 3,000 requests
// are still answered, and SIGINT still stops the cluster (exit 0).
func TestUpServesWithStdoutAndStderrUnread(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("devcluster")
	if err != nil {
		t.Fatalf("devcluster is not on PATH (testscript.Main should have put it there): %v", err)
	}
	const base, listen = 27430, 27439
	dir := noisyProject(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "up", "-m", "web=2", "--port", strconv.Itoa(base),
		"--listen", "127.0.0.1:"+strconv.Itoa(listen), "--no-watch", "--access-log")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	get := proxyGetter(t, listen)
	if err := get(3000); err != nil {
		_ = cmd.Process.Signal(syscall.SIGINT)
		t.Fatalf("with stdout and stderr unread: %v", err)
	}
	// The terminal resumes at the stop: what devcluster says then must come out.
	var out tstest.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&out, r)
	}()
	defer func() {
		r.Close()
		<-copied
	}()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGINT devcluster exited with %v, want 0; output's end:\n%s", err, tail(out.String(), 2000))
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("devcluster did not stop within 30 s of SIGINT")
	}
	tstest.WaitFor(t, 10*time.Second, "the stop's last line and a dropped-lines marker", func() bool {
		o := out.String()
		return strings.Contains(o, "lines dropped, reader too slow]") && strings.Contains(o, "every instance has exited")
	})
	waitPortsFree(t, base, base+1, listen)
}

// noisyProject is a project whose instances log a line per request:
// http.server on its stderr, beside up's access-log line.
func noisyProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	procfile := "web: python3 -m http.server --bind 127.0.0.1 $PORT\n"
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// proxyGetter waits until the proxy on listen answers and returns a function
// that sends n requests one after the other and says which failed first.
func proxyGetter(t *testing.T, listen int) func(n int) error {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/", listen)
	tstest.WaitFor(t, 30*time.Second, "the proxy to answer", func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return func(n int) error {
		for i := 0; i < n; i++ {
			resp, err := client.Get(url)
			if err != nil {
				return fmt.Errorf("request %d of %d: %w", i+1, n, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("request %d of %d: status %d", i+1, n, resp.StatusCode)
			}
		}
		return nil
	}
}

func waitPortsFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, port := range ports {
		tstest.WaitFor(t, 10*time.Second, fmt.Sprintf("port %d to be free", port), func() bool {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err == nil {
				ln.Close()
			}
			return err == nil
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
