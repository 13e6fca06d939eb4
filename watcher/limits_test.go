package watcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
