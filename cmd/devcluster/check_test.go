package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCheckInotifyCountsAddUp: fs.inotify.max_user_watches is per user, and each
// watcher takes its own watches, so check adds up the directories of every watcher
// (before, it took the largest), and leaves out a process with no instance in the
// formation, which gets no watcher.
func TestCheckInotifyCountsAddUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"a/1", "a/2", "b/1", "c/1", "c/2", "c/3", "c/4", "c/5", "c/6"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `processes:
  a:
    command: sleep 1
    watch:
      paths: [a]
  b:
    command: sleep 1
    watch:
      paths: [b]
  alsob:
    command: sleep 1
    watch:
      paths: [b]
  c:
    command: sleep 1
    watch:
      paths: [c]
`
	if err := os.WriteFile(filepath.Join(dir, "devcluster.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, cwd: dir}
	runCheck(e, &manifestFlags{formation: "c=0", basePort: 7900, listen: "127.0.0.1:7990"}, &out)
	// a: a, a/1, a/2; b (shared by alsob): b, b/1; c: none, its formation is 0. The
	// largest alone would be c's 7, all of them 12.
	want := regexp.MustCompile(`(?m)^ok    5 directories to watch, inotify limit [0-9]+$`)
	if !want.MatchString(out.String()) {
		t.Errorf("check output lacks %q:\n%s", want, out.String())
	}
}
