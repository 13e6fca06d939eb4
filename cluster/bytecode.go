package cluster

import (
	"os"
	"path/filepath"
	"strings"
)

// DropStaleBytecode removes the cached bytecode (__pycache__/NAME.*.pyc) of every
// changed .py file before a reload. Python trusts a .pyc whose recorded source mtime
// (whole seconds) and size match the source, so an edit of the same length saved within
// the same second as the previous one (VERSION = "v2" → "v3") would otherwise start the
// new instances on the old code.
func DropStaleBytecode(paths []string) {
	for _, p := range paths {
		if !strings.HasSuffix(p, ".py") {
			continue
		}
		stem := strings.TrimSuffix(filepath.Base(p), ".py")
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "__pycache__", globEscape(stem)+".*.pyc"))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

// globEscape quotes the glob metacharacters of a file name.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
