package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestDemoScriptChecksFlaskWithoutImportingIt: scripts/demo.sh took 1.2–1.8 s
// longer than up (which returns at once, here on a usage error): before up it
// had python3 import Flask to see whether it is installed, through the pyenv
// shim, and only then built devcluster. It now asks the interpreter to find the
// module (importlib.util.find_spec, no import), while the build runs. A python3
// on PATH that logs its arguments shows what the script ran.
func TestDemoScriptChecksFlaskWithoutImportingIt(t *testing.T) {
	tstest.NeedTool(t, "go", "install Go 1.26 (https://go.dev/dl/)")
	real := tstest.NeedTool(t, "python3", "sudo apt-get install -y python3")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "python3.log")
	fake := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + log + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "python3"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "demo.sh"), "--listen", "21696")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "21696") {
		t.Fatalf("demo.sh --listen 21696: %v, output:\n%s\nwant up's usage error (exit status 2) about the address", err, out)
	}
	ran, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("python3 was not run to check for Flask: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(ran)), "\n") {
		if strings.Contains(line, "import flask") {
			t.Errorf("demo.sh imported Flask to check for it: python3 %s", line)
		}
	}
	if !strings.Contains(string(ran), "find_spec") {
		t.Errorf("python3 ran %q, want a find_spec check for flask", ran)
	}
}
