package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestStopLeftoversOfSIGKILLedRun is issue 10 item 10's last stop path: a
// SIGKILLed devcluster takes its process groups with it (Pdeathsig, the watchdog),
// but not a daemon that called setsid, which kept the port; the next `up` must
// find it by the records and the marker, stop it and say so.
func TestStopLeftoversOfSIGKILLedRun(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	runDir := t.TempDir()
	daemonPort := freePort(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=devcluster", tagEnv+"="+tag, "HELPER_PORT="+strconv.Itoa(freePort(t)),
		"HELPER_DAEMON_PORT="+strconv.Itoa(daemonPort), "HELPER_RUN_DIR="+runDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pid := range taggedPIDs(tag) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	daemon := waitHelperDaemon(t, bufio.NewScanner(stdout))
	if _, err := os.Stat(filepath.Join(runDir, "pids", "web.2")); err != nil {
		t.Errorf("pid record of web.2: %v", err)
	}
	if _, err := StopLeftovers(runDir, nil); err == nil || !strings.Contains(err.Error(), "is still running") {
		t.Errorf("StopLeftovers while the run is alive: got %v, want an error saying it is still running", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	tstest.WaitFor(t, 5*time.Second, "only the daemon left", func() bool {
		left := taggedPIDs(tag)
		return len(left) == 1 && left[0] == daemon
	})
	if portFree(daemonPort) {
		t.Fatal("the daemon's port is free before StopLeftovers: the test proves nothing")
	}
	var log tstest.Buffer
	stopped, err := StopLeftovers(runDir, &log)
	if err != nil {
		t.Fatalf("StopLeftovers: %v", err)
	}
	want := fmt.Sprintf("web.2 pid %d (%s)", daemon, os.Args[0])
	if len(stopped) != 1 || stopped[0] != want {
		t.Errorf("stopped: got %q, want [%q]", stopped, want)
	}
	if left := taggedPIDs(tag); len(left) > 0 {
		t.Errorf("left after StopLeftovers: %v", left)
	}
	if !portFree(daemonPort) {
		t.Errorf("port %d still held after StopLeftovers", daemonPort)
	}
	if _, err := os.Stat(filepath.Join(runDir, "pids")); !os.IsNotExist(err) {
		t.Errorf("records after StopLeftovers: got %v, want them removed", err)
	}
	if again, err := StopLeftovers(runDir, nil); err != nil || len(again) != 0 {
		t.Errorf("StopLeftovers again: got %q, %v, want nothing", again, err)
	}
}

// waitHelperDaemon reads the helper devcluster's output until it is ready and its
// web.2 has printed the daemon's pid.
func waitHelperDaemon(t *testing.T, sc *bufio.Scanner) int {
	t.Helper()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	ready, daemon := false, 0
	timeout := time.After(20 * time.Second)
	for !ready || daemon == 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("helper devcluster exited early")
			}
			ready = ready || strings.Contains(l, "ALL READY")
			if _, after, found := strings.Cut(l, "DAEMON "); found {
				daemon, _ = strconv.Atoi(strings.TrimSpace(after))
			}
		case <-timeout:
			t.Fatal("helper devcluster not ready after 20s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return daemon
}

func TestStopLeftoversWithoutRecords(t *testing.T) {
	t.Parallel()
	if got, err := StopLeftovers(t.TempDir(), nil); err != nil || len(got) != 0 {
		t.Errorf("got %q, %v, want nothing", got, err)
	}
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "pids")); err != nil {
		t.Fatal(err)
	}
	if _, err := StopLeftovers(dir, nil); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Errorf("symlinked pids: got %v, want an error naming the symlink", err)
	}
}
