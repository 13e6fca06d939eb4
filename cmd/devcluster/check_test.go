package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/watcher"
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

// TestCheckCountsWhatUpWatches: check counts the directories that up's
// watchers take, with the same watcher settings. up --no-gitignore watches
// the ignored directories too, while check always counted with .gitignore
// honoured and took no --no-gitignore: for a project whose ignored build
// tree is what exhausts the inotify limit, check said ok.
func TestCheckCountsWhatUpWatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"src", "build/a", "build/b", "build/c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("build/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: sleep 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, gitignore := range []bool{true, false} {
		want, err := watcher.CountDirs(watcher.Config{Root: dir, Gitignore: gitignore})
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"check", "-p", "7920", "--listen", "127.0.0.1:7993"}
		if !gitignore {
			args = append(args, "--no-gitignore")
		}
		var out strings.Builder
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, cwd: dir}
		root := newRootCmd(e)
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&out)
		if err := root.Execute(); err != nil {
			t.Errorf("%v: %v\n%s", args, err, out.String())
			continue
		}
		re := regexp.MustCompile(`(?m)^ok    ` + strconv.Itoa(want) + ` directories to watch`)
		if !re.MatchString(out.String()) {
			t.Errorf("%v: check output lacks %q (up with the same flags watches %d):\n%s", args, re, want, out.String())
		}
	}
}
