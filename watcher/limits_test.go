package watcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/fsnotify/fsnotify"
)

func TestClassifyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want limitKind
	}{
		{nil, noLimit},
		{syscall.ENOSPC, watchLimit},
		{fmt.Errorf("add /x: %w", syscall.ENOSPC), watchLimit},
		{syscall.EMFILE, instanceLimit},
		{syscall.ENFILE, instanceLimit},
		{errors.New("inotify_init1: too many open files"), instanceLimit},
		{syscall.EACCES, noLimit},
	}
	for _, tt := range tests {
		if got := classifyLimit(tt.err); got != tt.want {
			t.Errorf("classifyLimit(%v): got %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestLimitMessage(t *testing.T) {
	t.Parallel()
	m := limitMessage{
		kind:    watchLimit,
		err:     syscall.ENOSPC,
		limit:   8192,
		watched: 8190,
		polled:  40,
		biggest: []subtree{
			{"data/", 5120},
			{"frontend/", 2000},
			{"app/", 12},
		},
		interval: 500 * time.Millisecond,
	}
	want := `watch: inotify watch limit reached (fs.inotify.max_user_watches = 8192) after watching 8190 directories.
  Biggest watched subtrees (add them to watch.exclude in devcluster.yaml, or to .gitignore):
    data/      5120 directories
    frontend/  2000 directories
    app/       12 directories
  Raise the limit:  sudo sysctl fs.inotify.max_user_watches=524288
  (to keep it after a reboot: echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/60-inotify.conf)
  Meanwhile polling 40 directories every 500ms for changes.
`
	if got := m.String(); got != want {
		t.Errorf("message:\ngot:\n%s\nwant:\n%s", got, want)
	}

	m = limitMessage{kind: instanceLimit, err: syscall.EMFILE, limit: -1, polled: 1, interval: time.Second}
	got := m.String()
	for _, s := range []string{"cannot start inotify (too many open files)", "fs.inotify.max_user_instances = unknown",
		"sudo sysctl fs.inotify.max_user_instances=1024", "polling 1 directory every 1s"} {
		if !strings.Contains(got, s) {
			t.Errorf("instance-limit message: got %q, want it to contain %q", got, s)
		}
	}
}

func TestReadLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "max_user_watches"), []byte("8192\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := readLimit(dir, "max_user_watches"); err != nil || n != 8192 {
		t.Errorf("readLimit: got %d, %v; want 8192, nil", n, err)
	}
	if _, err := readLimit(dir, "max_user_instances"); err == nil {
		t.Errorf("readLimit of a missing file: got nil error, want one")
	}
}

// enospcAfter lets n watches through, then fails like a kernel whose
// fs.inotify.max_user_watches is used up.
func enospcAfter(n int) func(*Watcher) {
	return func(w *Watcher) {
		added := 0 // only Run's goroutine calls addWatch
		w.addWatch = func(fsw *fsnotify.Watcher, dir string) error {
			if added >= n {
				return fmt.Errorf("add watch %s: %w", dir, syscall.ENOSPC)
			}
			added++
			return fsw.Add(dir)
		}
	}
}

func TestWatchLimitFallsBackToPolling(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a/a.py":          "v1",
		"big/1/x.py":      "v1",
		"big/2/":          "",
		"big/3/deep/":     "",
		"mid/1/":          "",
		"small/s.py":      "v1",
		"node_modules/x/": "", // ignored: not counted
	})
	// root and a/ get watches; big/, its 4 subdirectories, mid/, mid/1 and small/ are polled.
	h := start(t, Config{Root: root, PollInterval: 20 * time.Millisecond}, enospcAfter(2))

	log := h.log.String()
	want := []string{
		"inotify watch limit reached",
		"after watching 2 directories",
		"big/  5 directories",
		"mid/  2 directories",
		"a/    1 directory\n",
		"sudo sysctl fs.inotify.max_user_watches=524288",
		"polling 8 directories every 20ms",
	}
	if n, err := MaxUserWatches(); err == nil {
		want = append(want, fmt.Sprintf("fs.inotify.max_user_watches = %d", n))
	}
	for _, s := range want {
		if !strings.Contains(log, s) {
			t.Errorf("log: got\n%s\nwant it to contain %q", log, s)
		}
	}

	h.write("big/1/x.py", "v2 polled") // unwatched: found by polling
	h.expect("big/1/x.py")
	h.write("a/a.py", "v2 watched")
	h.expect("a/a.py")
	h.write("big/3/deep/new.py", "v1")
	h.expect("big/3/deep/new.py")
	// A directory created under a watched one cannot get a watch either.
	h.write("a/newdir/n.py", "v1")
	h.expect("a/newdir/n.py")
	h.write("a/newdir/n.py", "v2")
	h.expect("a/newdir/n.py")
	h.expectNothingElse()

	if got := strings.Count(h.log.String(), "inotify watch limit reached"); got != 1 {
		t.Errorf("limit messages: got %d, want 1:\n%s", got, h.log.String())
	}
}

func TestInstanceLimitPollsEverything(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app.py": "v1", "pkg/m.py": "v1"})
	h := start(t, Config{Root: root, PollInterval: 20 * time.Millisecond}, func(w *Watcher) {
		w.newFS = func() (*fsnotify.Watcher, error) {
			return nil, fmt.Errorf("inotify_init1: %w", syscall.EMFILE)
		}
	})
	log := h.log.String()
	for _, s := range []string{"cannot start inotify", "fs.inotify.max_user_instances", "sudo sysctl fs.inotify.max_user_instances=1024", "polling 2 directories"} {
		if !strings.Contains(log, s) {
			t.Errorf("log: got\n%s\nwant it to contain %q", log, s)
		}
	}
	h.write("pkg/m.py", "v2")
	h.expect("pkg/m.py")
	h.expectNothingElse()
}

// TestQueueOverflowReportsRoots: when the kernel drops events, every root is
// reported as changed, and the reason is logged once.
func TestQueueOverflowReportsRoots(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"src/": "", "manage.py": ""})
	log := &tstest.Buffer{}
	w, err := New(Config{Root: root, Paths: []string{"src", "manage.py"}, Poll: true, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.newSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	now := time.Now()
	s.handleError(fsnotify.ErrEventOverflow, now)
	s.handleError(fsnotify.ErrEventOverflow, now)
	got := s.deb.take(now.Add(time.Hour))
	want := []string{root, filepath.Join(root, "src")}
	if !slices.Equal(got, want) {
		t.Errorf("paths after overflow: got %v, want %v", got, want)
	}
	if n := strings.Count(log.String(), "dropped events"); n != 1 {
		t.Errorf("overflow messages: got %d, want 1 (%q)", n, log.String())
	}
}
