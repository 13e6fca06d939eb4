package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/devcluster/devcluster/procfile"
)

// envFilesRead are the env files up reads, as the user gave them: the .env
// beside the manifest if it is there (it is optional), then every -e file
// (which must exist, or loading failed before this).
func envFilesRead(m *procfile.Manifest, extra []string) []string {
	var out []string
	if fi, err := os.Stat(m.EnvFile()); err == nil && fi.Mode().IsRegular() {
		out = append(out, m.EnvFile())
	}
	return append(out, extra...)
}

// envReadLine says which env files up read and how many variables they set,
// "" when it read none: a .env that is not where up looks (beside the
// manifest) is otherwise silently missing.
func envReadLine(proj *project) string {
	if len(proj.envRead) == 0 {
		return ""
	}
	names := map[string]bool{}
	for _, v := range proj.env {
		names[v.Key] = true
	}
	return fmt.Sprintf("environment: read %s (%d variable(s); values are not printed)", strings.Join(proj.envRead, ", "), len(names))
}
