package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

func TestParseSignal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "TERM", "SIGTERM", "int", "HUP", "QUIT", "KILL", "USR1", "USR2"} {
		if _, err := ParseSignal(name); err != nil {
			t.Errorf("ParseSignal(%q): %v", name, err)
		}
	}
	if _, err := ParseSignal("BOGUS"); err == nil || !strings.Contains(err.Error(), "TERM") {
		t.Errorf("ParseSignal(BOGUS): got %v, want an error naming the valid signals", err)
	}
}

// TestEnvFilesReload: a changed env file is noticed by its path, read again,
// and only the names whose value changed are reported; a file that no longer
// parses leaves the variables as they were.
func TestEnvFilesReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := &procfile.Manifest{Path: filepath.Join(dir, "Procfile"), Dir: dir}
	dotenv := write(".env", "A=1\nB=2\n")
	extra := write("extra.env", "C=3\n")
	f, _, err := ReadEnvFiles(m, []string{extra})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Vars(); len(got) != 3 || got[2].Key != "C" {
		t.Fatalf("got %v, want A, B from .env, then C from extra.env", got)
	}
	if !f.Touched([]string{filepath.Join(dir, "app.py"), dotenv}) || !f.Touched([]string{extra}) || f.Touched([]string{filepath.Join(dir, "app.py")}) {
		t.Errorf("Touched: want true for .env and extra.env, false for app.py alone")
	}
	write(".env", "A=1\nB=5\nD=4\n")
	changed, _, err := f.Reload()
	if err != nil || !slices.Equal(changed, []string{"B", "D"}) {
		t.Errorf("after editing .env: got changed %v, %v; want [B D]", changed, err)
	}
	write(".env", "A=1\n'broken\n")
	if _, _, err := f.Reload(); err == nil {
		t.Fatalf("a .env that does not parse: got no error")
	}
	spec := Specs{Manifest: m, EnvFiles: f, Base: []string{"A=0", "PATH=/bin"}}
	env := spec.Env(&procfile.Process{Name: "web", Env: map[string]string{"C": "9"}})
	if want := []string{"A=1", "PATH=/bin", "B=5", "D=4", "C=9"}; !slices.Equal(env, want) {
		t.Errorf("Env: got %v, want %v (inherited, then the env files as last read, then the manifest's)", env, want)
	}
}
