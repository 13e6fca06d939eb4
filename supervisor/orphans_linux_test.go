package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// nastyChildren are the children that used to escape a stop, or could.
var nastyChildren = []struct {
	name, id, mode string
	command        string // "" runs the helper itself; SELF is replaced by it
	readyLine      string // a line to wait for before stopping
	pidsLine       string // the line prefix the child prints its other pids after
	descendants    int    // or: how many descendants to wait for (real servers)
	needs          string // a program the case needs, else it is skipped
	app            string // app.py for a real server
	stopTimeout    time.Duration
}{
	{name: "sh -c with a grandchild", id: "worker.1", mode: "grandchild", command: "true && SELF", pidsLine: "GRANDCHILD "},
	{name: "ignores SIGTERM", id: "worker.1", mode: "ignore-term", readyLine: "ignoring SIGTERM", stopTimeout: 300 * time.Millisecond},
	{name: "double fork and setsid daemon on the port", id: "web.1", mode: "daemon", pidsLine: "DAEMON "},
	{name: "master with two workers", id: "web.1", mode: "workers", pidsLine: "WORKERS "},
	{name: "gunicorn with two workers", id: "web.1", needs: "test -x /usr/bin/gunicorn", descendants: 2,
		command: "/usr/bin/gunicorn -w 2 -b 127.0.0.1:$PORT app:app", app: wsgiApp},
	{name: "flask run with its reloader on", id: "web.1", needs: "/usr/bin/python3 -c 'import flask'", descendants: 1,
		command: "/usr/bin/python3 -m flask --app app run --reload --port $PORT", app: flaskApp},
}

const (
	wsgiApp  = "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'hi']\n"
	flaskApp = "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\ndef index():\n    return 'hi'\n"
)

// TestOrphanMatrix stops each nasty child through Run's context and through Kill,
// and checks that nothing is left: no process by pid (not even a zombie: the
// orphans re-parented to devcluster are reaped), none by the test's tag or by the
// run's marker, the port free and the pid records gone. The setsid daemon is issue
// 10 item 10: it kept its port after every stop.
func TestOrphanMatrix(t *testing.T) {
	t.Parallel()
	for _, nc := range nastyChildren {
		for _, stop := range []string{"cancel", "kill"} {
			t.Run(nc.name+"/"+stop, func(t *testing.T) {
				t.Parallel()
				if nc.needs != "" && exec.Command("/bin/sh", "-c", nc.needs+" >/dev/null 2>&1 || exit 1").Run() != nil {
					t.Skipf("needs %s", nc.needs)
				}
				tag := newTag(t)
				port := freePort(t)
				sp := helperSpec(tag, nc.id, port, nc.mode)
				if nc.command != "" {
					sp.Command = strings.ReplaceAll(nc.command, "SELF", shellQuote(os.Args[0]))
				}
				if nc.app != "" {
					sp.Dir = t.TempDir()
					if err := os.WriteFile(filepath.Join(sp.Dir, "app.py"), []byte(nc.app), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if nc.stopTimeout > 0 {
					sp.StopTimeout = nc.stopTimeout
				}
				runDir := t.TempDir()
				c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}, RunDir: runDir})
				c.waitReady()
				pids := []int{c.status(nc.id).PID}
				if nc.readyLine != "" {
					c.waitLine(nc.id, nc.readyLine)
				}
				if nc.pidsLine != "" {
					pids = append(pids, parsePIDs(t, c.waitLine(nc.id, nc.pidsLine), nc.pidsLine)...)
				}
				if nc.descendants > 0 {
					var d []int
					tstest.WaitFor(t, 10*time.Second, "the server's children", func() bool {
						d = descendants(pids[0])
						return len(d) >= nc.descendants
					})
					pids = append(pids, d...)
				}
				starts := make(map[int]uint64)
				for _, pid := range pids {
					st, err := readProcStat(pid)
					if err != nil {
						t.Fatalf("pid %d: %v", pid, err)
					}
					starts[pid] = st.start
				}
				if _, err := os.Stat(filepath.Join(runDir, "pids", nc.id)); err != nil {
					t.Errorf("pid record: %v", err)
				}
				if stop == "kill" {
					c.s.Kill()
				}
				if err := c.stop(); err != nil {
					t.Errorf("Run: %v", err)
				}
				assertNothingLeft(t, c, pids, starts, port)
				if _, err := os.Stat(filepath.Join(runDir, "pids")); !os.IsNotExist(err) {
					t.Errorf("pid records after Run: got %v, want the directory removed", err)
				}
			})
		}
	}
}

// descendants lists pid's descendants, the watchdog subshell aside (it is in
// the group and has no marker of its own to tell it from a worker: it is the
// only one whose command is sh).
func descendants(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(data)) {
			if child, err := strconv.Atoi(f); err == nil {
				out = append(out, child)
				out = append(out, descendants(child)...)
			}
		}
	}
	return out
}

// assertNothingLeft checks that none of pids exists any more (a zombie counts as
// left: devcluster must reap the orphans it adopted), that no process carries the
// test's tag or c's run marker, and that port is free.
func assertNothingLeft(t *testing.T, c *cluster, pids []int, starts map[int]uint64, port int) {
	t.Helper()
	for _, pid := range pids {
		gone := func() bool {
			st, err := readProcStat(pid)
			return err != nil || st.start != starts[pid]
		}
		if !tstest.Poll(2*time.Second, gone) {
			st, _ := readProcStat(pid)
			t.Errorf("pid %d still there after Run returned (state %c, ppid %d, pgid %d; we are %d; children %v)", pid, st.state, st.ppid, st.pgid, os.Getpid(), selfChildren())
		}
	}
	if left := taggedPIDs(c.tag); len(left) > 0 {
		t.Errorf("processes with the test's tag: %v", left)
	}
	prefix := c.s.runID + "/"
	if left := markedProcs(func(v string) bool { return strings.HasPrefix(v, prefix) }); len(left) > 0 {
		t.Errorf("processes with the run's marker: %v", left)
	}
	if port > 0 && !portFree(port) {
		pid, cmdline, _ := PortHolder(port)
		t.Errorf("port %d still held, by pid %d (%s)", port, pid, cmdline)
	}
}

func parsePIDs(t *testing.T, line, prefix string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(line, prefix)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		pids = append(pids, pid)
	}
	if len(pids) == 0 {
		t.Fatalf("no pid in %q", line)
	}
	return pids
}
