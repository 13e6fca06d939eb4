package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
)

// cleanupdown: when the script ends, stop the cluster of this directory if one
// still runs. An up -d leaves a daemon that testscript does not know of; a
// script that fails halfway would leave it, its instances and ports behind.
func cmdCleanupDown(ts *testscript.TestScript, neg bool, args []string) {
	dir := clusterDir(ts)
	ts.Defer(func() {
		pid := daemonPID(dir)
		if pid <= 0 || !processAlive(pid) {
			return
		}
		if c, err := control.Dial(control.SocketPath(dir)); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.Down(ctx)
			cancel()
			c.Close()
		}
		if !tstest.Poll(15*time.Second, func() bool { return !processAlive(pid) }) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// daemonPID is the pid in the cluster's .devcluster/pid file, 0 if none.
func daemonPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, control.RuntimeDir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// killcluster: SIGKILL the devcluster up of this script's cluster (found through
// its control socket: an up -d is no background process of the script) and wait
// until it has gone.
func cmdKillCluster(ts *testscript.TestScript, neg bool, args []string) {
	st, err := scriptStatus(ts)
	ts.Check(err)
	ts.Check(syscall.Kill(st.PID, syscall.SIGKILL))
	if !tstest.Poll(10*time.Second, func() bool { return !processAlive(st.PID) }) {
		ts.Fatalf("devcluster pid %d still running 10s after SIGKILL", st.PID)
	}
}
