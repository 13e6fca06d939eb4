package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
)

// startTestCluster runs a cluster of the manifest in a new directory, in this
// process, and waits until every instance is ready. The cluster's ports are
// base (instances) and listen (proxy).
func startTestCluster(t *testing.T, manifest string, base int, listen string, sigs chan os.Signal) (stop context.CancelFunc, done <-chan error, stderr *tstest.Buffer, dir string) {
	t.Helper()
	return startTestClusterEnv(t, manifest, base, listen, sigs, nil)
}

// startTestClusterEnv is startTestCluster with vars in the environment
// devcluster reads (XDG_DATA_HOME: where the local CA is).
func startTestClusterEnv(t *testing.T, manifest string, base int, listen string, sigs chan os.Signal, vars map[string]string) (stop context.CancelFunc, done <-chan error, stderr *tstest.Buffer, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "devcluster.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr = &tstest.Buffer{}
	// stdin is a pipe that stays open, as a terminal does: the key reader must end
	// without its input ending.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdinW.Close(); stdinR.Close() })
	e := &env{stdin: stdinR, stdout: &tstest.Buffer{}, stderr: stderr, cwd: dir,
		getenv: func(k string) string {
			if k == "DEVCLUSTER_PYENV_SHIMS" {
				return "keep"
			}
			return vars[k]
		}}
	proj, err := loadProject(e, &manifestFlags{basePort: base, listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCluster(clusterConfig{proj: proj, watch: true, gitignore: true,
		stdin: e.stdin, stdout: e.stdout, stderr: stderr, getenv: e.getenv, signals: sigs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		errc <- c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Errorf("Run still running 30s after its context ended")
		}
	})
	tstest.WaitFor(t, 30*time.Second, "every instance ready (or running)", func() bool {
		cl, err := control.Dial(control.SocketPath(dir))
		if err != nil {
			return false
		}
		defer cl.Close()
		st, err := cl.Status(context.Background())
		if err != nil || len(st.Instances) != len(proj.instances) {
			return false
		}
		for _, in := range st.Instances {
			// The worker runs sleep with no readiness rule: running, not ready.
			if in.State != control.StateReady && in.State != control.StateRunning {
				return false
			}
		}
		return true
	})
	return cancel, errc, stderr, dir
}

const leakManifest = `processes:
  web:
    command: exec python3 -m http.server --bind 127.0.0.1 $PORT
  worker:
    command: exec sleep 300
`

// TestClusterStopsEveryGoroutine: however the cluster is asked to stop, Run returns
// nil, and only after every goroutine it started (proxy, supervisor, control server,
// watcher, reloader, signal handler, key reader) has returned, every instance has
// been reaped and every port is free.
func TestClusterStopsEveryGoroutine(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, cancel context.CancelFunc, sigs chan os.Signal, dir string)
		want string
	}{
		{"SIGINT", func(t *testing.T, _ context.CancelFunc, sigs chan os.Signal, _ string) {
			sigs <- syscall.SIGINT
		}, "SIGINT: stopping every instance"},
		{"SIGTERM", func(t *testing.T, _ context.CancelFunc, sigs chan os.Signal, _ string) {
			sigs <- syscall.SIGTERM
		}, "SIGTERM: stopping every instance"},
		{"down", func(t *testing.T, _ context.CancelFunc, _ chan os.Signal, dir string) {
			cl, err := control.Dial(control.SocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.Down(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, "devcluster down: stopping every instance"},
		{"context", func(t *testing.T, cancel context.CancelFunc, _ chan os.Signal, _ string) {
			cancel()
		}, "stopped; every instance has exited"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			base, listen := 7700+10*i, 8770+i
			sigs := make(chan os.Signal, 2)
			cancel, done, stderr, dir := startTestCluster(t, leakManifest, base, "127.0.0.1:"+strconv.Itoa(listen), sigs)
			tt.stop(t, cancel, sigs, dir)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: got %v, want nil", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("Run did not return within 30s of the stop; stderr:\n%s", stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			goleak.VerifyNone(t, ignore)
			for _, port := range []int{base, base + 1, base + 100, listen} {
				ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
				if err != nil {
					t.Errorf("port %d still in use after Run returned: %v", port, err)
					continue
				}
				ln.Close()
			}
			if _, err := os.Stat(control.SocketPath(dir)); err == nil {
				t.Errorf("%s still exists after Run returned", control.SocketPath(dir))
			}
		})
	}
}

// TestClusterSecondSignalKillsAtOnce: a second Ctrl-C skips the stop_timeout of an
// instance that ignores SIGTERM.
func TestClusterSecondSignalKillsAtOnce(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	manifest := `processes:
  stubborn:
    command: trap '' TERM; exec sleep 300
    stop_timeout: 120s
`
	sigs := make(chan os.Signal, 2)
	_, done, stderr, _ := startTestCluster(t, manifest, 7760, "127.0.0.1:8779", sigs)
	sigs <- syscall.SIGINT
	tstest.WaitFor(t, 10*time.Second, "the first SIGINT to be taken", func() bool {
		return strings.Contains(stderr.String(), "SIGINT: stopping")
	})
	sigs <- syscall.SIGINT
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: got %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run still waits for the 120s stop_timeout after a second SIGINT; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), "SIGINT again: killing every instance now") {
		t.Errorf("stderr lacks the kill line:\n%s", stderr)
	}
	goleak.VerifyNone(t, ignore)
}
