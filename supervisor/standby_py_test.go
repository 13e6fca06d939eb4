package supervisor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestStandbyScansOnlyImportsThatRun: standby.py preloads what the app's files
// import when they are imported, and nothing that only a function, a
// TYPE_CHECKING block or another module's __main__ block would import.
func TestStandbyScansOnlyImportsThatRun(t *testing.T) {
	t.Parallel()
	src := `"""A docstring that talks about monkey patching."""
import os, json as j
from collections import OrderedDict
import typing
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import in_type_checking
if typing.TYPE_CHECKING:
    import in_typing_type_checking
else:
    import in_type_checking_else
try:
    import in_try
except ImportError:
    import in_except
else:
    import in_try_else
finally:
    import in_finally
with open(__file__) as f:
    import in_with
for _ in range(1):
    import in_for
while False:
    import in_while
class C:
    import in_class_body
    def method(self):
        import in_method
def f():
    import in_function
async def g():
    import in_async_function
h = lambda: __import__("in_lambda")
if __name__ == "__main__":
    import in_main_block
`
	path := filepath.Join(t.TempDir(), "mod.py")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	prog := `import json, sys
m = load_standby(sys.argv[1])
print(json.dumps({"module": [i[0] for i in m.imports_of(sys.argv[2])],
                  "main": [i[0] for i in m.imports_of(sys.argv[2], True)]}))
`
	var got map[string][]string
	if err := json.Unmarshal(runStandbyPython(t, prog, path), &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"os", "json", "collections", "typing", "typing", "in_type_checking_else",
		"in_try", "in_except", "in_try_else", "in_finally", "in_with", "in_for", "in_while", "in_class_body"}
	if !slices.Equal(got["module"], want) {
		t.Errorf("imports of a module:\n got %q\nwant %q", got["module"], want)
	}
	if want := append(want, "in_main_block"); !slices.Equal(got["main"], want) {
		t.Errorf("imports of the script run as __main__:\n got %q\nwant %q", got["main"], want)
	}
}

// TestStandbyMonkeyPatchingFromTheCode: an app that monkey-patches is left to
// the interpreter (the patch must come before any other import), and one that
// only mentions it in a comment or a string is not.
func TestStandbyMonkeyPatchingFromTheCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		patches bool
	}{
		{"# no monkey patching here, the patch is elsewhere\nimport flask\n", false},
		{"'''We do not monkey-patch: see patch notes.'''\nimport flask\n", false},
		{"import flask\nMONKEY = 'patch'\n", false},
		{"from gevent import monkey\nmonkey.patch_all()\nimport flask\n", true},
		{"import gevent.monkey\ngevent.monkey.patch_all()\n", true},
		{"from gevent.monkey import patch_all\npatch_all()\n", true},
		{"import eventlet\neventlet.monkey_patch()\n", true},
		{"from eventlet import monkey_patch as mp\nmp(socket=True)\n", true},
		{"from gevent import monkey\ndef main():\n    monkey.patch_socket()\nif __name__ == '__main__':\n    main()\n", true},
	}
	dir := t.TempDir()
	var paths []string
	for i, tt := range tests {
		p := filepath.Join(dir, "app"+string(rune('a'+i))+".py")
		if err := os.WriteFile(p, []byte(tt.src), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	prog := `import json, sys
m = load_standby(sys.argv[1])
out = []
for p in sys.argv[2:]:
    try:
        m.imports_of(p)
        out.append(False)
    except m.MonkeyPatching:
        out.append(True)
print(json.dumps(out))
`
	var got []bool
	if err := json.Unmarshal(runStandbyPython(t, prog, paths...), &got); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if got[i] != tt.patches {
			t.Errorf("monkey-patches=%v, want %v for:\n%s", got[i], tt.patches, tt.src)
		}
	}
}

// forkerApp imports, only in code that never runs, a module with side effects
// (it writes a file when imported) and one that forks when imported; its
// comment mentions monkey patching.
const forkerApp = `import sys, os
PRELOADED = "mylib" in sys.modules
import http.server, json
import mylib
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import sidefx  # writes a file when imported
def never_called():
    import forker  # forks when imported
# We do not monkey-patch anything here.

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"preloaded": PRELOADED, "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

if __name__ == "__main__":
    print("serving", flush=True)
    http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// TestStandbyRunsNoImportTheAppNeverRuns (issue 21 item 5): a module the app
// imports only inside a function or under TYPE_CHECKING is not imported by the
// standby either: its side effects never happen, a module that forks on import
// leaves no traceback from standby.py and no restart, and the libraries the app
// does import are preloaded (a comment about monkey-patching forces no cold start).
func TestStandbyRunsNoImportTheAppNeverRuns(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	marks := t.TempDir()
	files := map[string]string{
		filepath.Join(dir, "app.py"):    forkerApp,
		filepath.Join(lib, "sidefx.py"): "import os\nopen(os.path.join(" + pyQuote(marks) + ", 'sidefx'), 'w').close()\n",
		filepath.Join(lib, "forker.py"): "import os\nif os.fork() == 0:\n    open(os.path.join(" + pyQuote(marks) + ", 'forked'), 'w').close()\n",
	}
	c, port := startForkerApp(t, dir, lib, files)
	standby := c.waitStandby("web.1")
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	var a struct {
		Preloaded bool `json:"preloaded"`
		PID       int  `json:"pid"`
	}
	tstest.WaitFor(t, 10*time.Second, "web.1 to answer from its standby", func() bool {
		b, err := httpGetBody(port)
		return err == nil && json.Unmarshal(b, &a) == nil && a.PID == standby
	})
	if !a.Preloaded {
		t.Errorf("the standby did not preload mylib (a comment about monkey-patching forced a cold start?); log:\n%s", c.log.String())
	}
	// A second standby for the next start: the scan has run twice by now.
	c.waitStandby("web.1")
	entries, _ := os.ReadDir(marks)
	for _, e := range entries {
		t.Errorf("the standby imported a module the app never imports: %s ran", e.Name())
	}
	if st := c.status("web.1"); st.Restarts != 0 {
		t.Errorf("web.1 restarts = %d, want 0", st.Restarts)
	}
	if all := c.out.String() + c.log.String(); strings.Contains(all, "standby.py") || strings.Contains(all, "Traceback") {
		t.Errorf("output mentions standby.py or a traceback:\n%s", all)
	}
}

func pyQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func httpGetBody(port int) ([]byte, error) {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TestStandbyLibraryThatForksOnImport: a library the app does import, which
// forks when imported, makes a copy of the standby; the copy exits quietly
// (no traceback from standby.py, no restart) and the start is cold, said once.
func TestStandbyLibraryThatForksOnImport(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	// The app's own copy leaves at once; the standby's returns into standby.py.
	app := strings.Replace(forkerApp, "import mylib\n", "import mylib\nimport forker\nif forker.CHILD:\n    os._exit(0)\n", 1)
	files := map[string]string{
		filepath.Join(dir, "app.py"):    app,
		filepath.Join(lib, "forker.py"): "import os\nCHILD = os.fork() == 0\n",
	}
	c, port := startForkerApp(t, dir, lib, files)
	c.waitStandby("web.1")
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c.waitLine("web.1", "devcluster standby: the library forker forks when imported; starting cold")
	tstest.WaitFor(t, 10*time.Second, "web.1 to answer after the restart", func() bool {
		_, err := httpGetBody(port)
		return err == nil
	})
	if st := c.status("web.1"); st.Restarts != 0 {
		t.Errorf("web.1 restarts = %d, want 0", st.Restarts)
	}
	if all := c.out.String(); strings.Contains(all, "standby.py") || strings.Contains(all, "Traceback") {
		t.Errorf("output mentions standby.py or a traceback:\n%s", all)
	}
}

// startForkerApp writes files and runs web.1 of the app in dir with a standby.
func startForkerApp(t *testing.T, dir, lib string, files map[string]string) (*cluster, int) {
	t.Helper()
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port),
	}})
	c.waitReady()
	return c, port
}
