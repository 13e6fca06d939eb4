package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries keeps the arrows of docs/ARCHITECTURE.md pointing one way: only
// cmd/devcluster knows every part.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	const mod = "github.com/devcluster/devcluster/"
	all := []string{"procfile", "supervisor", "proxy", "watcher", "control", "scaffold", "cmd/devcluster"}
	allowed := map[string][]string{
		"procfile":   nil,
		"supervisor": nil,
		"proxy":      nil,
		"watcher":    nil,
		"control":    nil,
		"scaffold":   {"procfile"},
	}
	for pkg, ok := range allowed {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "-test", mod+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				dep = strings.TrimSuffix(strings.Fields(dep + " ")[0], ".test")
				if !strings.HasPrefix(dep, mod) {
					continue
				}
				name := strings.TrimPrefix(dep, mod)
				if i := strings.Index(name, " "); i >= 0 {
					name = name[:i]
				}
				if name == pkg || strings.HasPrefix(name, pkg+"/") || strings.HasPrefix(name, "internal/") {
					continue
				}
				permitted := false
				for _, a := range ok {
					if name == a {
						permitted = true
					}
				}
				for _, known := range all {
					if name == known && !permitted {
						t.Errorf("%s imports %s: forbidden by docs/ARCHITECTURE.md (allowed: %v)", pkg, name, ok)
					}
				}
			}
		})
	}
}
