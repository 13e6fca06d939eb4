package tstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI: any non-empty CI variable, as GitHub
// Actions, GitLab and our own .ci/run set it. There, a missing tool is the run's fault
// and fails; on a developer's machine it only skips.
func InCI() bool { return os.Getenv("CI") != "" }

// sbinDirs are searched after PATH: haproxy and nginx live in /usr/sbin, which a
// non-root user's PATH often lacks.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// LookTool finds a tool by name on PATH or in the sbin directories, or checks an
// absolute path (/usr/bin/python3) is executable. It is the one lookup behind NeedTool
// and the CLI scripts' conditions.
func LookTool(name string) (string, error) {
	if filepath.IsAbs(name) {
		st, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", name)
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not on PATH nor in %v", name, sbinDirs)
}

// MissingTool is what NeedTool does when a tool is missing: under CI it fails the
// test, elsewhere it skips it; either way with the line that installs the tool.
// Exposed for checks that are not a single executable (a Python module, say).
func MissingTool(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s is missing; install it with: %s", what, install)
	if InCI() {
		t.Fatalf("%s (CI is set: a missing tool fails the run)", msg)
	}
	t.Skip(msg)
}

// NeedTool returns the path of the named tool, or, when it is missing, skips the test
// on a developer's machine with the install line and fails it under CI. It is the one
// rule every test that needs an outside tool (haproxy, chromium, docker…) follows.
func NeedTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := LookTool(name)
	if err != nil {
		MissingTool(t, name+" ("+err.Error()+")", install)
	}
	return p
}

// debianPackages names the Debian package of each tool the tests use whose package
// has another name; every other tool installs as its own name.
var debianPackages = map[string]string{
	"systemd-analyze": "systemd",
	"prlimit":         "util-linux",
	"python3":         "python3",
	"python":          "python3",
	"go":              "golang-go",
}

// InstallLine is the command that installs the named tool (a name or an absolute
// path: /usr/bin/gunicorn is Debian's gunicorn).
func InstallLine(name string) string {
	base := filepath.Base(name)
	if p, ok := debianPackages[base]; ok {
		return "sudo apt-get install -y " + p
	}
	return "sudo apt-get install -y " + base
}

// ModuleInstallLine is the command that installs a Python module for Debian's
// python3 (flask: python3-flask).
func ModuleInstallLine(module string) string {
	return "sudo apt-get install -y python3-" + module
}

// PythonHas reports, as an error naming what is missing, whether python imports
// every module ("flask" or "flask, redis"); an interpreter that hangs for 20 s has
// none.
func PythonHas(python, modules string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, python, "-c", "import "+modules).Run(); err != nil {
		return fmt.Errorf("%s cannot import %s (%v)", python, modules, err)
	}
	return nil
}

// NeedModules is NeedTool for Python modules: it skips the test on a developer's
// machine, or fails it under CI, unless python imports every module.
func NeedModules(t testing.TB, python string, modules ...string) {
	t.Helper()
	for _, m := range modules {
		if err := PythonHas(python, m); err != nil {
			MissingTool(t, err.Error(), ModuleInstallLine(m))
		}
	}
}

// Condition is the same rule for a CLI script's condition ([tool:haproxy],
// [flask]): present, it holds; missing on a developer's machine, it does not hold
// (the script's "skip" line says why, with the install line); missing under CI, it
// is an error, which fails the script.
func Condition(missing error, install string) (bool, error) {
	if missing == nil {
		return true, nil
	}
	if InCI() {
		return false, fmt.Errorf("%v; install it with: %s (CI is set: a missing tool fails the run)", missing, install)
	}
	return false, nil
}
