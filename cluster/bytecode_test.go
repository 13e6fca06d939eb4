package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestSameSecondEditIsNotServedFromStaleBytecode is the regression test for a reload
// that started the new instance on the previous code: VERSION = "v2" → "v3" saved within
// the same second has the same size and mtime second, so Python reused the .pyc.
func TestSameSecondEditIsNotServedFromStaleBytecode(t *testing.T) {
	t.Parallel()
	py := tstest.NeedTool(t, "python3", tstest.InstallLine("python3"))
	dir := t.TempDir()
	src := filepath.Join(dir, "app.py")
	run := func() string {
		cmd := exec.Command(py, "-c", "import app; print(app.VERSION)")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// Same second, same size: both writes get the same whole-second mtime.
	stamp := time.Now().Truncate(time.Second)
	write := func(v string) {
		if err := os.WriteFile(src, []byte(`VERSION = "`+v+`"`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(src, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	write("v2")
	if got := run(); got != "v2" {
		t.Fatalf("got %q, want v2", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "__pycache__", "app.*.pyc")); len(m) == 0 {
		t.Skip("this python3 wrote no bytecode cache; nothing to test")
	}
	write("v3")
	if got := run(); got != "v2" {
		t.Logf("python3 noticed the change by itself (got %q); the cache check is still exercised below", got)
	}
	write("v4")
	DropStaleBytecode([]string{src, filepath.Join(dir, "README.md")})
	if got := run(); got != "v4" {
		t.Errorf("after DropStaleBytecode: got %q, want v4", got)
	}
}

func TestGlobEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"app": "app", "a*b": `a\*b`, "x[1]": `x\[1]`, `q?`: `q\?`} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q): got %q, want %q", in, got, want)
		}
	}
}
