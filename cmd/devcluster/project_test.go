package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecsTakeReloadWaveFromManifest: the supervisor rolls in waves of
// InstanceSpec.MaxUnavailable, which only cmd can fill from reload.max_unavailable
// (resolved against the process's instance count); unwired, every reload went one
// instance at a time whatever the manifest said.
func TestSpecsTakeReloadWaveFromManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, reload string
		want         int
		warning      string
		wantFor10    int // MaxUnavailableFor(10): after a scale to 10 instances
	}{
		{"default", "", 1, "", 1},
		{"count", "    reload: {max_unavailable: 3}\n", 3, "", 3},
		{"percent of 4", "    reload: {max_unavailable: 50%}\n", 2, "", 5},
		{"surge alone", "    reload: {max_unavailable: 0, max_surge: 1}\n", 1,
			"devcluster.yaml:5: web.reload.max_surge is not supported yet: instances keep their ports, so a replacement cannot start before the old one stops; it is treated as 0 (reload.standby: true makes each replacement start several times faster instead)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			manifest := "processes:\n  web:\n    command: sleep 60\n    instances: 4\n" + tt.reload
			if err := os.WriteFile(filepath.Join(dir, "devcluster.yaml"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			e := &env{cwd: dir, getenv: func(string) string { return "" }}
			proj, err := loadProject(e, &manifestFlags{basePort: 7700})
			if err != nil {
				t.Fatal(err)
			}
			specs, err := proj.specs(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range specs {
				if s.MaxUnavailable != tt.want {
					t.Errorf("%s: got MaxUnavailable %d, want %d", s.ID, s.MaxUnavailable, tt.want)
				}
				if s.MaxUnavailableFor == nil || s.MaxUnavailableFor(10) != tt.wantFor10 {
					t.Errorf("%s: MaxUnavailableFor(10) is not %d", s.ID, tt.wantFor10)
				}
			}
			got := strings.Join(proj.warnings, "\n")
			if !strings.HasSuffix(got, tt.warning) || (tt.warning == "") != (got == "") {
				t.Errorf("got warnings %q, want %q", got, tt.warning)
			}
		})
	}
}
