package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// standbyApp is a stdlib-only web app that reports, per request, whether the
// libraries it imports were already imported before its own first line ran (a
// standby preloaded them), and whether its own project module was (it must
// never be: the new code has to be what runs).
const standbyApp = `import sys
PRELOADED = "http.server" in sys.modules and "mylib" in sys.modules
OWN_EARLY = "helper" in sys.modules
import http.server, json, os
import mylib
import helper
VERSION = "v1"

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": VERSION, "preloaded": PRELOADED, "own_early": OWN_EARLY,
                           "pid": os.getpid(), "lib": mylib.VALUE, "helper": helper.NAME,
                           "argv0": os.path.basename(sys.argv[0]), "name": __name__,
                           "greeting": os.environ.get("GREETING", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

if __name__ == "__main__":
    print("serving", VERSION, flush=True)
    http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

type standbyAnswer struct {
	Version   string `json:"version"`
	Preloaded bool   `json:"preloaded"`
	OwnEarly  bool   `json:"own_early"`
	PID       int    `json:"pid"`
	Lib       string `json:"lib"`
	Helper    string `json:"helper"`
	Argv0     string `json:"argv0"`
	Name      string `json:"name"`
	Greeting  string `json:"greeting"`
}

// standbyProject writes the app, its own module helper.py, and a library mylib in
// a site-packages directory outside the project; it returns the project and the
// library's file.
func standbyProject(t *testing.T) (dir, lib string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("/usr/bin/python3 is missing: apt-get install python3 (scripts/deps.sh installs it)")
	}
	dir = t.TempDir()
	libDir := filepath.Join(t.TempDir(), "site-packages")
	if err := os.MkdirAll(libDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lib = filepath.Join(libDir, "mylib.py")
	files := map[string]string{
		filepath.Join(dir, "app.py"):    standbyApp,
		filepath.Join(dir, "helper.py"): "import email.mime.text\nNAME = 'helper'\n",
		lib:                             "VALUE = 'a'\n",
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, libDir
}

func standbySpec(tag, id, dir, libDir, command string, port int) InstanceSpec {
	process, idx, _ := strings.Cut(id, ".")
	env := append(os.Environ(), tagEnv+"="+tag, "PYTHONPATH="+libDir, "PYTHONDONTWRITEBYTECODE=1")
	return InstanceSpec{
		ID: id, Process: process, Index: int(idx[0] - '0'), Port: port, Dir: dir,
		Command: command, Env: env, Balanced: true, Standby: true, StopTimeout: 2 * time.Second,
	}
}

func askStandbyApp(t *testing.T, port int) standbyAnswer {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET port %d: %v", port, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a standbyAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("GET port %d: %v in %q", port, err, body)
	}
	return a
}

// waitStandby waits until id has a standby and returns its pid.
func (c *cluster) waitStandby(id string) int {
	c.t.Helper()
	var pid int
	tstest.WaitFor(c.t, 10*time.Second, id+" to have a standby", func() bool {
		c.ended()
		pid = c.status(id).StandbyPID
		return pid > 0
	})
	return pid
}

// twoStandbyInstances runs web.1 and web.2 of the standby app with standbys,
// ready; it returns web.1's port and the library directory.
func twoStandbyInstances(t *testing.T) (c *cluster, port int, lib string) {
	t.Helper()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	port = freePort(t)
	c = startCluster(t, tag, Config{Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port),
		standbySpec(tag, "web.2", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
	}})
	c.waitReady()
	return c, port, lib
}

func setVersion(t *testing.T, dir, v string) {
	t.Helper()
	path := filepath.Join(dir, "app.py")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), `VERSION = "`)
	j := strings.Index(string(src)[i+11:], `"`)
	out := string(src[:i]) + `VERSION = "` + v + string(src[i+11+j:])
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStandbyTakesOverTheNextStart: the first start is cold; once ready, each
// instance gets a standby, and a reload runs the new code in that very process
// (its pid), with the libraries already imported and the app's own modules not.
func TestStandbyTakesOverTheNextStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, command, argv0, mainName string
		pty                            bool
	}{
		{"script", "/usr/bin/python3 app.py", "app.py", "__main__", false},
		{"flags", "/usr/bin/python3 -u -B app.py --flag", "app.py", "__main__", false},
		{"module", "/usr/bin/python3 -m app", "app.py", "__main__", false},
		{"pty", "/usr/bin/python3 app.py", "app.py", "__main__", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, lib := standbyProject(t)
			tag := newTag(t)
			ports := []int{freePort(t), freePort(t)}
			specs := []InstanceSpec{
				standbySpec(tag, "web.1", dir, lib, tc.command, ports[0]),
				standbySpec(tag, "web.2", dir, lib, tc.command, ports[1]),
			}
			c := startCluster(t, tag, Config{Specs: specs, PTY: tc.pty})
			c.waitReady()
			for _, p := range ports {
				if a := askStandbyApp(t, p); a.Preloaded || a.Version != "v1" {
					t.Fatalf("first start on port %d: %+v, want a cold start of v1", p, a)
				}
			}
			standbys := []int{c.waitStandby("web.1"), c.waitStandby("web.2")}
			setVersion(t, dir, "v2")
			if err := c.s.Reload(context.Background(), "web"); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			for i, p := range ports {
				a := askStandbyApp(t, p)
				want := standbyAnswer{Version: "v2", Preloaded: true, PID: standbys[i], Lib: "a", Helper: "helper",
					Argv0: tc.argv0, Name: tc.mainName}
				if a != want {
					t.Errorf("after the reload, port %d answered %+v, want %+v (its standby, pid %d)", p, a, want, standbys[i])
				}
				if st := c.status(fmt.Sprintf("web.%d", i+1)); st.PID != standbys[i] {
					t.Errorf("web.%d: PID %d after the reload, want its standby's %d", i+1, st.PID, standbys[i])
				}
			}
			// Each gets its next standby once ready again, and not the same one.
			for i := range ports {
				id := fmt.Sprintf("web.%d", i+1)
				if next := c.waitStandby(id); next == standbys[i] {
					t.Errorf("%s: standby pid %d again after it took over", id, next)
				}
			}
		})
	}
}

// TestStandbyStartsColdWhenALibraryChanged: a library file that changed after
// the standby imported it (a pip install meanwhile) makes the standby exec the
// interpreter afresh: same process, the new library, nothing preloaded.
func TestStandbyStartsColdWhenALibraryChanged(t *testing.T) {
	t.Parallel()
	c, port, lib := twoStandbyInstances(t)
	standby := c.waitStandby("web.1")
	if err := os.WriteFile(filepath.Join(lib, "mylib.py"), []byte("VALUE = 'bb'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	a := askStandbyApp(t, port)
	if a.PID != standby || a.Preloaded || a.Lib != "bb" {
		t.Errorf("after the library changed: %+v, want pid %d (the standby, exec'd afresh), not preloaded, lib bb", a, standby)
	}
	c.waitLine("web.1", "mylib.py changed since the standby imported it; starting cold")
}

// TestStandbyKilledIsReplaced: a standby that dies before it is needed is
// replaced, and the next start does not try to use the dead one.
func TestStandbyKilledIsReplaced(t *testing.T) {
	t.Parallel()
	c, port, _ := twoStandbyInstances(t)
	first := c.waitStandby("web.1")
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var next int
	tstest.WaitFor(t, 10*time.Second, "web.1 to get a new standby", func() bool {
		next = c.status("web.1").StandbyPID
		return next > 0 && next != first
	})
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if a := askStandbyApp(t, port); a.PID != next || !a.Preloaded {
		t.Errorf("after the restart: %+v, want the new standby (pid %d), preloaded", a, next)
	}
	if st := c.status("web.1"); st.State != StateReady || st.Restarts != 0 {
		t.Errorf("web.1 after its standby was killed: %+v, want ready with no restarts: the standby is not the instance", st)
	}
}

// TestStandbyGoesWithItsInstance: stopping an instance stops its standby, and a
// Run that returns leaves no standby behind (startCluster's cleanup checks every
// tagged process is gone) and removes the standby script it wrote.
func TestStandbyGoesWithItsInstance(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	runDir := t.TempDir()
	// A symlink at the script's name is replaced, not written through.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(runDir, standbyScriptName)); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, tag, Config{RunDir: runDir, Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
		standbySpec(tag, "web.2", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
	}})
	c.waitReady()
	standby := c.waitStandby("web.2")
	c.waitStandby("web.1")
	if fi, err := os.Lstat(filepath.Join(runDir, standbyScriptName)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the standby script is not a file in RunDir: %v, %v", fi, err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("the standby script was written through a symlink: its target now holds %q", data)
	}
	if err := c.s.StopInstance(context.Background(), "web.2"); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if pidAlive(standby) {
		t.Errorf("web.2's standby (pid %d) still runs after web.2 was stopped", standby)
	}
	if st := c.status("web.2"); st.StandbyPID != 0 {
		t.Errorf("web.2 stopped still shows standby pid %d", st.StandbyPID)
	}
	if err := c.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(runDir, standbyScriptName)); !os.IsNotExist(err) {
		t.Errorf("the standby script is still in RunDir after Run returned (stat: %v)", err)
	}
}

// TestStandbyUnusableCommandStartsCold: a command a standby cannot run is said
// once and started the ordinary way: the instance decides so before it runs,
// and through a restart (whose start would take a standby) no status it
// commits shows one.
func TestStandbyUnusableCommandStartsCold(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	sp := helperSpec(tag, "web.1", freePort(t), "serve")
	sp.Standby = true
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}})
	if !c.s.instances[0].standby.off {
		t.Errorf("web.1 is to get standbys for a command that is not Python")
	}
	c.waitReady()
	tstest.WaitFor(t, 5*time.Second, "the log to say why web gets no standby", func() bool {
		return strings.Contains(c.log.String(), "web: no warm standby: its command runs")
	})
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if n := strings.Count(c.log.String(), "no warm standby"); n != 1 {
		t.Errorf("the log says %d times why web gets no standby, want once", n)
	}
	for _, st := range c.commits.of("web.1") {
		if st.StandbyPID != 0 {
			t.Errorf("web.1 committed standby pid %d for a command that is not Python", st.StandbyPID)
		}
	}
	if st := c.status("web.1"); st.StandbyPID != 0 || st.Reloads != 1 {
		t.Errorf("web.1 after the restart: %+v, want no standby, 1 reload", st)
	}
}

func TestStandbyProblem(t *testing.T) {
	bin := t.TempDir()
	scripts := map[string]string{
		"serve":     "#!/usr/bin/python3\nprint('hi')\n",
		"serve-env": "#!/usr/bin/env python3\nprint('hi')\n",
		"serve-u":   "#!/usr/bin/python3 -u\nprint('hi')\n",
		"serve-s":   "#!/usr/bin/python3 -s\nprint('hi')\n",
		"shell":     "#!/bin/sh\necho hi\n",
		"binary":    "\x7fELF\x02\x01",
		"not-exec":  "#!/usr/bin/python3\n",
	}
	for name, body := range scripts {
		mode := os.FileMode(0o755)
		if name == "not-exec" {
			mode = 0o644
		}
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + bin + ":/usr/bin:/bin"}
	for _, tc := range []struct{ command, want string }{
		{"python3 app.py", ""},
		{"exec python3 app.py --port $PORT", ""},
		{"/usr/bin/python3 -m flask --app app run --port $PORT", ""},
		{"python3.11 -u -B -mflask run", ""},
		{"python -uB manage.py runserver", ""},
		{"serve --bind 127.0.0.1:$PORT app:app", ""},
		{"serve-env app:app", ""},
		{"serve-u app:app", ""},
		{bin + "/serve app:app", ""},
		{"serve-s app:app", "its command runs serve-s, not a Python interpreter or a Python script (its #! line gives the interpreter -s)"},
		{"shell", "its command runs shell, not a Python interpreter or a Python script (its #! line names no Python interpreter)"},
		{"binary", "its command runs binary, not a Python interpreter or a Python script (no #! line)"},
		{"not-exec app:app", "its command runs not-exec, which is not found"},
		{"missing app:app", "its command runs missing, which is not found"},
		{"python3 -O app.py", "the interpreter option -O cannot be applied"},
		{"python3 -X dev app.py", "the interpreter option -X cannot be applied"},
		{"python3 -c pass", "gives Python code with -c"},
		{"python3", "names no script and no -m module"},
		{"cd app && python3 app.py", "not one plain program invocation"},
		{"FLASK_DEBUG=1 python3 app.py", "not one plain program invocation"},
		{`"python3" app.py`, "not a Python interpreter"},
	} {
		got := StandbyProblem(InstanceSpec{Command: tc.command, Env: env, Dir: t.TempDir()})
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("StandbyProblem(%q) = %q, want %q", tc.command, got, tc.want)
		}
	}
	sp := InstanceSpec{Command: "serve-env --bind 127.0.0.1:$PORT app:app", Env: env}
	if got, want := standbyCommand(sp, "/run/standby.py", 4), "'python3' '/run/standby.py' 4 '"+bin+"/serve-env' --bind 127.0.0.1:$PORT app:app"; got != want {
		t.Errorf("standbyCommand: got %s, want %s", got, want)
	}
}

// TestStandbyRunsAConsoleScript: a command that runs a Python console script
// (gunicorn, flask) gets a standby too: the interpreter of its #! line runs
// standby.py with the script, and the script's imports are preloaded.
func TestStandbyRunsAConsoleScript(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	bin := t.TempDir()
	script := "#!/usr/bin/env python3\nimport os, runpy, sys, http.server\nsys.path.insert(0, os.getcwd())\n" +
		"print('console script', sys.argv[0], flush=True)\nrunpy.run_path('app.py', run_name='__main__')\n"
	if err := os.WriteFile(filepath.Join(bin, "serve-app"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tag := newTag(t)
	ports := []int{freePort(t), freePort(t)}
	specs := []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "serve-app --port $PORT", ports[0]),
		standbySpec(tag, "web.2", dir, lib, "serve-app --port $PORT", ports[1]),
	}
	for i := range specs {
		specs[i].Env = append(specs[i].Env, "PATH="+bin+":/usr/bin:/bin")
	}
	c := startCluster(t, tag, Config{Specs: specs})
	c.waitReady()
	standby := c.waitStandby("web.1")
	setVersion(t, dir, "v2")
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if a := askStandbyApp(t, ports[0]); a.PID != standby || a.Version != "v2" {
		t.Errorf("after the restart: %+v, want v2 from the standby (pid %d)", a, standby)
	}
	c.waitLine("web.1", "console script "+filepath.Join(bin, "serve-app"))
	if strings.Contains(c.log.String(), "no warm standby") {
		t.Errorf("log: %s", c.log.String())
	}
}

// TestStandbyScriptParsesCommands runs standby.py's own parser: what it runs
// warm, and what it leaves to the interpreter.
func TestStandbyScriptParsesCommands(t *testing.T) {
	script := filepath.Join(t.TempDir(), "standby.py")
	if err := os.WriteFile(script, standbyPy, 0o600); err != nil {
		t.Fatal(err)
	}
	prog := `import json, sys, importlib.util
spec = importlib.util.spec_from_file_location("standby", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
out = []
for args in json.loads(sys.argv[2]):
    mode, target, rest, why = m.parse(args)
    out.append([mode, target, rest, why])
print(json.dumps(out))
`
	cases := [][]string{
		{"app.py", "--port", "5000"},
		{"-m", "flask", "--app", "app", "run"},
		{"-mflask", "run"},
		{"-u", "-B", "app.py"},
		{"-O", "app.py"},
		{"-c", "print(1)"},
		{},
	}
	in, _ := json.Marshal(cases)
	out, err := exec.Command("/usr/bin/python3", "-c", prog, script, string(in)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var got [][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	want := []string{
		`["s","app.py",["--port","5000"],null]`,
		`["m","flask",["--app","app","run"],null]`,
		`["m","flask",["run"],null]`,
		`["s","app.py",[],null]`,
		`[null,null,null,"interpreter option -O"]`,
		`[null,null,null,"interpreter option -c"]`,
		`[null,null,null,"no script or module"]`,
	}
	for i := range cases {
		b, _ := json.Marshal(got[i])
		if string(b) != want[i] {
			t.Errorf("parse(%q) = %s, want %s", cases[i], b, want[i])
		}
	}
}

// TestStandbyTakesOverAfterACrash: an instance killed from outside comes back as
// its standby (a crash restart, counted as one), and what the standby prints
// from then on is shown: the killed child's output ("serving v1") is no failure
// to hide.
func TestStandbyTakesOverAfterACrash(t *testing.T) {
	t.Parallel()
	c, port, _ := twoStandbyInstances(t)
	standby := c.waitStandby("web.1")
	if err := c.s.KillInstance(context.Background(), "web.1"); err != nil {
		t.Fatalf("KillInstance: %v", err)
	}
	tstest.WaitFor(t, 10*time.Second, "web.1 ready again as its standby", func() bool {
		c.ended()
		st := c.status("web.1")
		return st.State == StateReady && st.PID == standby
	})
	if a := askStandbyApp(t, port); a.PID != standby || !a.Preloaded {
		t.Errorf("after the kill: %+v, want the standby (pid %d), preloaded", a, standby)
	}
	if st := c.status("web.1"); st.Restarts != 1 || st.Reloads != 0 {
		t.Errorf("web.1 after a kill: restarts %d, reloads %d; want 1 and 0", st.Restarts, st.Reloads)
	}
	tstest.WaitFor(t, 10*time.Second, "the standby's own \"serving v1\" shown", func() bool {
		return strings.Count(c.out.String(), "web.1 | serving v1") >= 2
	})
}

// TestStandbyBrokenSaveShowsItsTracebackOnce: a save that breaks the app fails
// first in the standby, then in cold retries; the standby prints the traceback
// the interpreter would (none of its own frames), so the retries are seen as the
// same failure and their tracebacks are not shown again.
func TestStandbyBrokenSaveShowsItsTracebackOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, broken, want string }{
		{"syntax error", `VERSION = "v2" +`, "SyntaxError: invalid syntax"},
		{"exception", `VERSION = undefined_name`, "NameError: name 'undefined_name' is not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, lib := standbyProject(t)
			tag := newTag(t)
			c := startCluster(t, tag, Config{Specs: []InstanceSpec{
				standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
				standbySpec(tag, "web.2", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
			}})
			c.waitReady()
			standby := c.waitStandby("web.1")
			src, err := os.ReadFile(filepath.Join(dir, "app.py"))
			if err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(src), `VERSION = "v1"`, tc.broken, 1)
			if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := c.s.Reload(context.Background(), "web"); err == nil {
				t.Fatal("Reload of a broken app: no error")
			}
			tstest.WaitFor(t, 10*time.Second, "web.1 to fail 3 more times", func() bool {
				c.ended()
				return c.status("web.1").Restarts >= 3
			})
			out := c.out.String()
			if n := strings.Count(out, tc.want); n != 1 {
				t.Errorf("%q shown %d times, want once; output:\n%s", tc.want, n, out)
			}
			if strings.Contains(out, "standby.py") || strings.Contains(out, "runpy") {
				t.Errorf("the traceback shows the standby's own frames:\n%s", out)
			}
			// The first failure was the standby's: it took the start and exited.
			if pidAlive(standby) || c.status("web.1").StandbyPID == standby {
				t.Errorf("web.1's standby (pid %d) is still waiting: the reload did not use it", standby)
			}
		})
	}
}

// TestStandbyThatHangsIsStopped: a standby whose preload hangs (here a library
// that sleeps when imported by a standby, and only then) is stopped after
// Config.StandbyWarmTimeout and replaced, and after standbyAttempts the
// instance says so and starts cold, as it does without standbys.
func TestStandbyThatHangsIsStopped(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	hang := "import sys, time\nif sys.argv[0].endswith('standby.py'):\n    time.sleep(3600)\nVALUE = 'a'\n"
	if err := os.WriteFile(filepath.Join(lib, "mylib.py"), []byte(hang), 0o600); err != nil {
		t.Fatal(err)
	}
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{StandbyWarmTimeout: 200 * time.Millisecond, Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port),
		standbySpec(tag, "web.2", dir, lib, "/usr/bin/python3 app.py", freePort(t)),
	}})
	c.waitReady()
	tstest.WaitFor(t, 15*time.Second, "web.1 to give up on standbys", func() bool {
		c.ended()
		return strings.Contains(c.log.String(), fmt.Sprintf("web.1: its standby was not warm after 200ms (an import of the app's libraries hangs?), %d times in a row; its starts are cold", standbyAttempts))
	})
	if st := c.status("web.1"); st.StandbyPID != 0 {
		t.Errorf("web.1 shows standby pid %d: a standby that never got warm", st.StandbyPID)
	}
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if a := askStandbyApp(t, port); a.Preloaded || a.Version != "v1" {
		t.Errorf("after giving up: %+v, want a cold start", a)
	}
}

// TestSetEnvReachesTheNextStart: SetEnv changes nothing running, and the next
// start (here a reload) has the new environment; the standby started with the
// old one is replaced by one with the new, so even the warm start sees it.
func TestSetEnvReachesTheNextStart(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	ports := []int{freePort(t), freePort(t)}
	specs := []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", ports[0]),
		standbySpec(tag, "web.2", dir, lib, "/usr/bin/python3 app.py", ports[1]),
	}
	for i := range specs {
		specs[i].Env = append(specs[i].Env, "GREETING=hello")
	}
	c := startCluster(t, tag, Config{Specs: specs})
	c.waitReady()
	old := c.waitStandby("web.1")
	env := append(slices.Clone(specs[0].Env[:len(specs[0].Env)-1]), "GREETING=bonjour")
	if err := c.s.SetEnv(context.Background(), "web", env); err != nil {
		t.Fatalf("SetEnv: %v", err)
	}
	if a := askStandbyApp(t, ports[0]); a.Greeting != "hello" {
		t.Errorf("web.1 before its next start: GREETING %q, want hello (it keeps its environment)", a.Greeting)
	}
	var fresh int
	tstest.WaitFor(t, 10*time.Second, "web.1's standby replaced", func() bool {
		fresh = c.status("web.1").StandbyPID
		return fresh > 0 && fresh != old
	})
	if pidAlive(old) {
		t.Errorf("the standby with the old environment (pid %d) still runs", old)
	}
	if err := c.s.Reload(context.Background(), "web"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	for _, p := range ports {
		if a := askStandbyApp(t, p); a.Greeting != "bonjour" {
			t.Errorf("port %d after the reload: GREETING %q, want bonjour", p, a.Greeting)
		}
	}
	if a := askStandbyApp(t, ports[0]); a.PID != fresh {
		t.Errorf("web.1 after the reload: pid %d, want its new standby's %d", a.PID, fresh)
	}
	if err := c.s.SetEnv(context.Background(), "nope", env); err == nil || !strings.Contains(err.Error(), "nope: no such process") {
		t.Errorf("SetEnv of an unknown process: %v", err)
	}
}
