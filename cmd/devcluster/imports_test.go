package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// importRules are the arrows of docs/ARCHITECTURE.md: the devcluster packages each
// package may import, besides its own subpackages and internal/ (which every package
// may import). A package listed by `go list ./...` and missing here may import
// nothing else, so a new package starts with the strictest rule; cmd/ and bench/
// (programs that wire everything together) are free.
var importRules = map[string][]string{
	"scaffold": {"procfile"},
	// export renders the manifest's typed model, nothing of the running cluster.
	"export": {"procfile"},
	// dashboard speaks to the cluster through an interface it defines itself.
	"dashboard": {},
	// cluster is what a running cluster is: it joins the parts' views (the
	// supervisor's, the proxy's, the fault registry's) and serves them to
	// control and dashboard; only cmd imports it.
	"cluster": {"control", "dashboard", "loadgen", "procfile", "proxy", "supervisor", "watcher"},
	// probe compares the answers of the instances a control.Status lists.
	"probe": {"control"},
}

// freePrefixes are the packages that may import anything.
var freePrefixes = []string{"cmd/", "bench/"}

// TestImportBoundaries keeps the arrows pointing one way for every package of the
// module, found with `go list ./...` rather than from a list that a new package
// would not be on: only cmd/devcluster knows every part.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	const mod = "github.com/devcluster/devcluster/"
	out, err := exec.Command("go", "list", "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, out)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 5 {
		t.Fatalf("go list ./... found only %v", pkgs)
	}
	for _, full := range pkgs {
		pkg := strings.TrimPrefix(full, mod)
		if slices.ContainsFunc(freePrefixes, func(p string) bool { return strings.HasPrefix(pkg, p) }) {
			continue
		}
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			for _, dep := range devclusterDeps(t, full, mod) {
				if !mayImport(pkg, dep) {
					t.Errorf("%s imports %s: forbidden by docs/ARCHITECTURE.md (allowed: %v, internal/)", pkg, dep, importRules[topLevel(pkg)])
				}
			}
		})
	}
}

// devclusterDeps lists the module's packages that pkg and its tests depend on.
func devclusterDeps(t *testing.T, pkg, mod string) []string {
	out, err := exec.Command("go", "list", "-deps", "-test", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var deps []string
	for _, line := range strings.Split(string(out), "\n") {
		// Test variants read "pkg [pkg.test]", external tests "pkg_test [pkg.test]",
		// the test main "pkg.test".
		dep, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		dep = strings.TrimSuffix(strings.TrimSuffix(dep, ".test"), "_test")
		if name, ok := strings.CutPrefix(dep, mod); ok && !slices.Contains(deps, name) {
			deps = append(deps, name)
		}
	}
	return deps
}

// mayImport applies importRules to one arrow.
func mayImport(pkg, dep string) bool {
	top := topLevel(pkg)
	switch {
	case topLevel(dep) == top, strings.HasPrefix(dep, "internal/"):
		return true
	case strings.HasPrefix(pkg, "internal/"):
		return false // internal/ is imported by all, so it imports none of them
	}
	return slices.Contains(importRules[top], topLevel(dep))
}

// topLevel is a package's first path element ("dashboard/browsertest" → "dashboard"),
// or the first two under internal/, whose packages are independent of each other
// only by convention: "internal/tstest".
func topLevel(pkg string) string {
	parts := strings.SplitN(pkg, "/", 3)
	if parts[0] == "internal" && len(parts) > 1 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

// TestMayImport checks the rules themselves, so that TestImportBoundaries can fail.
func TestMayImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg, dep string
		want     bool
	}{
		{"proxy", "supervisor", false},
		{"supervisor", "proxy", false},
		{"watcher", "procfile", false},
		{"control", "supervisor", false},
		{"scaffold", "procfile", true},
		{"scaffold", "proxy", false},
		{"export", "procfile", true},
		{"export", "proxy", false},
		{"export", "supervisor", false},
		{"export/haproxy", "procfile", true},
		{"dashboard", "control", false},
		{"dashboard", "procfile", false},
		{"dashboard", "proxy", false},
		{"dashboard", "internal/termsafe", true},
		{"dashboard/browsertest", "dashboard", true},
		{"proxy", "internal/defaults", true},
		{"newpackage", "proxy", false},
		{"internal/defaults", "procfile", false},
		{"internal/chaos", "internal/tstest", true},
		{"cluster", "supervisor", true},
		{"cluster", "proxy", true},
		{"cluster", "control", true},
		{"cluster", "dashboard", true},
		{"cluster", "watcher", true},
		{"cluster", "cmd/devcluster", false},
		{"proxy", "cluster", false},
		{"supervisor", "cluster", false},
		{"control", "cluster", false},
		{"dashboard", "cluster", false},
		{"probe", "control", true},
		{"probe", "proxy", false},
	}
	for _, tt := range tests {
		if got := mayImport(tt.pkg, tt.dep); got != tt.want {
			t.Errorf("mayImport(%q, %q): got %v, want %v", tt.pkg, tt.dep, got, tt.want)
		}
	}
}
