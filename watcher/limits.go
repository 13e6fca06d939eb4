package watcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type limitKind int

const (
	noLimit       limitKind = iota
	watchLimit              // ENOSPC from inotify_add_watch: fs.inotify.max_user_watches
	instanceLimit           // EMFILE/ENFILE from inotify_init: fs.inotify.max_user_instances (or open files)
)

// classifyLimit tells an exhausted inotify limit from other errors.
func classifyLimit(err error) limitKind {
	switch {
	case err == nil:
		return noLimit
	case errors.Is(err, syscall.ENOSPC):
		return watchLimit
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE),
		strings.Contains(err.Error(), "too many open files"):
		return instanceLimit
	}
	return noLimit
}

// readLimit reads one of the numbers in /proc/sys/fs/inotify.
func readLimit(dir, name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, fmt.Errorf("read inotify limit: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read inotify limit %s: %w", name, err)
	}
	return n, nil
}

// subtree is a top-level directory under a watched root and the number of
// directories it would take to watch it whole.
type subtree struct {
	path string // as shown to the user
	dirs int
}

// biggestSubtrees counts the watchable directories under each top-level
// directory of the roots and returns the n largest: the ones worth excluding.
func biggestSubtrees(f *filter, sc scope, n int) []subtree {
	counts := make(map[string]int)
	seen := make(map[string]bool)
	for _, start := range sc.starts() {
		walkDirs(f, sc, start, seen, func(dir string) {
			if dir == start {
				return
			}
			rel, err := filepath.Rel(start, dir)
			if err != nil {
				return
			}
			top := filepath.Join(start, strings.SplitN(rel, string(filepath.Separator), 2)[0])
			counts[top]++
		})
	}
	out := make([]subtree, 0, len(counts))
	for p, c := range counts {
		out = append(out, subtree{path: f.relDisplay(p) + "/", dirs: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].dirs != out[j].dirs {
			return out[i].dirs > out[j].dirs
		}
		return out[i].path < out[j].path
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// limitMessage is the one message written when inotify runs out: what ran
// out, what is watched, what to exclude, how to raise the limit, and that
// the rest is polled meanwhile.
type limitMessage struct {
	kind     limitKind
	err      error
	limit    int // -1 when unreadable
	watched  int // directories with a watch
	polled   int // directories polled instead
	biggest  []subtree
	interval time.Duration
}

func (m limitMessage) String() string {
	var b strings.Builder
	name, raise := "max_user_watches", 524288
	if m.kind == instanceLimit {
		name, raise = "max_user_instances", 1024
	}
	limit := "unknown"
	if m.limit >= 0 {
		limit = strconv.Itoa(m.limit)
	}
	if m.kind == instanceLimit {
		fmt.Fprintf(&b, "watch: cannot start inotify (%v); fs.inotify.%s = %s.\n", m.err, name, limit)
	} else {
		fmt.Fprintf(&b, "watch: inotify watch limit reached (fs.inotify.%s = %s) after watching %d directories.\n",
			name, limit, m.watched)
	}
	if len(m.biggest) > 0 {
		b.WriteString("  Biggest watched subtrees (add them to watch.exclude in devcluster.yaml, or to .gitignore):\n")
		width := 0
		for _, t := range m.biggest {
			width = max(width, len(t.path))
		}
		for _, t := range m.biggest {
			fmt.Fprintf(&b, "    %-*s  %d %s\n", width, t.path, t.dirs, plural(t.dirs, "directory", "directories"))
		}
	}
	fmt.Fprintf(&b, "  Raise the limit:  sudo sysctl fs.inotify.%s=%d\n", name, raise)
	fmt.Fprintf(&b, "  (to keep it after a reboot: echo fs.inotify.%s=%d | sudo tee /etc/sysctl.d/60-inotify.conf)\n", name, raise)
	fmt.Fprintf(&b, "  Meanwhile polling %d %s every %v for changes.\n", m.polled, plural(m.polled, "directory", "directories"), m.interval)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
