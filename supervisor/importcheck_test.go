package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestMissingImports: check's import scan (the standby's, run by the
// instance's own interpreter) names a -m module, a script and the app's
// top-level imports that the interpreter cannot find, with the import's
// file:line, and leaves out what cannot fail at start: an import in a function,
// one guarded by except ImportError, what the interpreter has, and commands
// that are not Python.
func TestMissingImports(t *testing.T) {
	t.Parallel()
	py := tstest.NeedTool(t, "/usr/bin/python3", "sudo apt-get install python3")
	dir := t.TempDir()
	files := map[string]string{
		"app.py": `import os
import json
import dc_missing_top
from helpers import greet
try:
    import dc_guarded
except ImportError:
    dc_guarded = None
def later():
    import dc_in_function
if __name__ == "__main__":
    import dc_in_main
`,
		"helpers.py":  "from dc_missing_helper.sub import thing\nif __name__ == '__main__':\n    import dc_not_main\n\ndef greet(): pass\n",
		"ok.py":       "import os, sys\nfrom helpers2 import x\n",
		"helpers2.py": "import json\nx = 1\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(command string) InstanceSpec {
		return InstanceSpec{ID: "web.1", Process: "web", Index: 1, Port: 21601, Dir: dir, Command: command, Env: os.Environ()}
	}
	type miss struct {
		Kind, Name, File string
		Line             int
	}
	for _, tc := range []struct {
		command string
		want    []miss
	}{
		{py + " app.py --port $PORT", []miss{
			{"import", "dc_missing_top", "app.py", 3},
			{"import", "dc_in_main", "app.py", 12}, // app.py runs as __main__
			{"import", "dc_missing_helper", "helpers.py", 1},
		}},
		{py + " -m dc_no_such_module --port $PORT", []miss{{"module", "dc_no_such_module", "", 0}}},
		{py + " nofile.py", []miss{{"script", "nofile.py", "", 0}}},
		{py + " ok.py", nil},
		{py + " -m json.tool --help", nil},
		{"sleep 1", nil},
	} {
		got, err := MissingImports(context.Background(), spec(tc.command))
		if err != nil {
			t.Errorf("%s: %v", tc.command, err)
			continue
		}
		var gotm []miss
		for _, m := range got {
			gotm = append(gotm, miss{m.Kind, m.Name, m.File, m.Line})
			if m.Python != py || !strings.Contains(m.Error(), py) {
				t.Errorf("%s: interpreter %q in %q, want %s", tc.command, m.Python, m.Error(), py)
			}
		}
		if !reflect.DeepEqual(gotm, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.command, gotm, tc.want)
		}
	}
}

// TestMissingImportInstallHint: the system's (externally managed) Python gets
// its package from apt, any other interpreter from pip run by that interpreter,
// under the distribution's name where it is not the module's.
func TestMissingImportInstallHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    MissingImport
		want string
	}{
		{MissingImport{Kind: "module", Name: "uvicorn", Python: "/root/.pyenv/versions/3.11.7/bin/python3"},
			"-m uvicorn: /root/.pyenv/versions/3.11.7/bin/python3 has no module uvicorn; install it: /root/.pyenv/versions/3.11.7/bin/python3 -m pip install uvicorn"},
		{MissingImport{Kind: "import", Name: "yaml", File: "app.py", Line: 2, Python: "/venv/bin/python"},
			"app.py:2: import yaml: /venv/bin/python cannot import yaml; install it: /venv/bin/python -m pip install PyYAML"},
		{MissingImport{Kind: "import", Name: "redis", File: "app.py", Line: 4, Python: "/usr/bin/python3", ExternallyManaged: true},
			"app.py:4: import redis: /usr/bin/python3 cannot import redis; install it: sudo apt-get install python3-redis (/usr/bin/python3 is the system's Python), or run the app with a virtualenv's python that has it"},
		{MissingImport{Kind: "import", Name: "PIL", File: "a.py", Line: 1, Python: "/usr/bin/python3", ExternallyManaged: true},
			"a.py:1: import PIL: /usr/bin/python3 cannot import PIL; install it: sudo apt-get install python3-pil (/usr/bin/python3 is the system's Python), or run the app with a virtualenv's python that has it"},
	} {
		if got := tc.m.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
