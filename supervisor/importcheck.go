package supervisor

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// importcheck.py runs the standby's import scan (standby.py) under an
// instance's own interpreter and lists what that interpreter cannot find.
//
//go:embed importcheck.py
var importCheckPy []byte

// importCheckTimeout bounds one interpreter's scan: it reads source files and
// imports none of the app's, so it takes a Python start and milliseconds.
const importCheckTimeout = 20 * time.Second

// MissingImport is one module an instance's interpreter cannot find, found
// before anything starts (devcluster check), with what to install.
type MissingImport struct {
	Kind   string // "module" (python -m NAME), "script" (python FILE) or "import"
	Name   string // the module's top-level name, or the script's path
	File   string // for an import: the file and line of the import statement
	Line   int
	Python string // the interpreter's path (sys.executable: behind a pyenv shim, the real one)
	// ExternallyManaged: the interpreter is the system's (Debian's python3 is,
	// PEP 668), which takes packages from apt, not pip.
	ExternallyManaged bool
}

// Error says what is missing, for which interpreter, and how to install it.
func (m MissingImport) Error() string {
	var what string
	switch m.Kind {
	case "module":
		what = fmt.Sprintf("-m %s: %s has no module %s", m.Name, m.Python, m.Name)
	case "script":
		return fmt.Sprintf("%s: no such file (%s cannot run it)", m.Name, m.Python)
	default:
		what = fmt.Sprintf("%s:%d: import %s: %s cannot import %s", m.File, m.Line, m.Name, m.Python, m.Name)
	}
	return what + "; " + m.InstallHint()
}

// pipNames are the distributions of the modules whose pip name is not the
// module's own; debNames the same for Debian's python3-* packages.
var (
	pipNames = map[string]string{"yaml": "PyYAML", "PIL": "Pillow", "cv2": "opencv-python",
		"sklearn": "scikit-learn", "bs4": "beautifulsoup4", "dateutil": "python-dateutil",
		"jwt": "PyJWT", "MySQLdb": "mysqlclient", "dotenv": "python-dotenv", "attr": "attrs",
		"psycopg2": "psycopg2-binary", "Crypto": "pycryptodome", "magic": "python-magic"}
	debNames = map[string]string{"PIL": "pil", "cv2": "opencv", "MySQLdb": "mysqldb", "Crypto": "pycryptodome"}
)

// InstallHint is how to install the missing module for that interpreter: apt
// for the system's interpreter (pip refuses to install there), pip otherwise.
func (m MissingImport) InstallHint() string {
	if m.ExternallyManaged {
		deb, ok := debNames[m.Name]
		if !ok {
			deb = strings.ReplaceAll(strings.ToLower(m.Name), "_", "-")
		}
		return fmt.Sprintf("install it: sudo apt-get install python3-%s (%s is the system's Python), or run the app with a virtualenv's python that has it", deb, m.Python)
	}
	dist, ok := pipNames[m.Name]
	if !ok {
		dist = m.Name
	}
	return fmt.Sprintf("install it: %s -m pip install %s", m.Python, dist)
}

// MissingImports runs sp's interpreter over the standby's import scan (what
// standby.py would preload: the -m module or script, and the libraries the
// app's files import at their top level) and returns what it cannot find. It
// starts none of the app's code. A command a standby cannot run (not a Python
// interpreter or console script: StandbyProblem) is not scanned: nil, nil. An
// error means the scan itself did not run.
func MissingImports(ctx context.Context, sp InstanceSpec) ([]MissingImport, error) {
	interp, rest, why := standbyTarget(sp)
	if why != "" {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "devcluster-importcheck-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	standby, driver := filepath.Join(dir, standbyScriptName), filepath.Join(dir, "importcheck.py")
	if err := os.WriteFile(standby, standbyPy, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(driver, importCheckPy, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, importCheckTimeout)
	defer cancel()
	// Through sh, as the instance's command runs: $PORT and quotes as written.
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", interp+" "+shellQuote(driver)+" "+shellQuote(standby)+" "+rest)
	cmd.Dir, cmd.Env = sp.Dir, sp.Env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("scan the imports of %s with %s: %v%s", sp.ID, interp, err, lastLine(stderr.String()))
	}
	var res struct {
		Python            string `json:"python"`
		ExternallyManaged bool   `json:"externally_managed"`
		Missing           []MissingImport
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("scan the imports of %s with %s: %v", sp.ID, interp, err)
	}
	for i := range res.Missing {
		m := &res.Missing[i]
		m.Python, m.ExternallyManaged = res.Python, res.ExternallyManaged
		if rel, err := filepath.Rel(sp.Dir, m.File); m.File != "" && err == nil && !strings.HasPrefix(rel, "..") {
			m.File = rel
		}
	}
	return res.Missing, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := lines[len(lines)-1]; l != "" {
		return ": " + esc(l)
	}
	return ""
}
