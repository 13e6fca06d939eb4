package dashboard

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoOtherPart keeps docs/ARCHITECTURE.md's arrow: the dashboard
// speaks to the cluster only through Cluster and Recorder, so it imports no
// other devcluster package but internal/ ones.
func TestImportsNoOtherPart(t *testing.T) {
	t.Parallel()
	const mod = "github.com/devcluster/devcluster/"
	out, err := exec.Command("go", "list", "-deps", "-test", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		name, ok := strings.CutPrefix(dep, mod)
		if !ok || strings.HasPrefix(name, "dashboard") || strings.HasPrefix(name, "internal/") {
			continue
		}
		t.Errorf("dashboard imports %s%s: forbidden, it must speak through its Cluster interface", mod, name)
	}
}
