// Package watcher turns file system changes under a project into batches of
// changed paths. It knows nothing of processes or restarts: the caller decides
// what a batch means.
//
// Directories, not files, are watched with inotify (through fsnotify), so an
// editor's atomic save — write a temporary file, rename it over the original —
// is seen as a change of the original. Ignored directories (version control,
// virtualenvs, caches, build output, .gitignore'd paths, Exclude patterns) are
// skipped before a watch is added, which keeps large projects under the
// kernel's watch limit. When the limit is reached anyway, the watcher says so
// once and polls the directories it could not watch.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of Config, from internal/defaults (where
// the measurements behind DefaultDebounce are).
const (
	DefaultDebounce     = defaults.Debounce
	DefaultMaxWait      = defaults.DebounceMaxWait
	DefaultGoneWait     = defaults.DebounceGoneWait
	DefaultPollInterval = defaults.WatchPollInterval
)

// Config says what to watch and how changes are grouped.
type Config struct {
	Root      string   // project directory; "" → current directory
	Paths     []string // directories or files, relative to Root; default ["."]
	Include   []string // file patterns reported; default DefaultInclude()
	Exclude   []string // file and directory patterns never watched
	Gitignore bool     // honour .gitignore files (the repository's, the root's and nested ones)

	// Include and Exclude patterns are doublestar globs ("**" allowed),
	// matched against the base name and against the slash-separated path
	// relative to Root. A file named in Paths is reported whatever Include says.

	Debounce time.Duration // a batch closes after this long without events (50ms)
	MaxWait  time.Duration // and never later than this after its first event (2s)
	// GoneWait holds a batch that names a path which no longer exists for
	// up to this long after its last event (300ms; negative: not at all),
	// for the path to come back: vim renames the file away and fsyncs its
	// swap file before it writes the new one, and no debounce bounds an
	// fsync. A file really deleted is reported GoneWait after its event.
	GoneWait time.Duration

	Poll         bool          // poll instead of inotify (network and VM mounts)
	PollInterval time.Duration // 500ms; also used for directories inotify could not watch

	Log io.Writer // problems and the inotify-limit message; nil → discarded
}

// Batch is one group of changes.
type Batch struct {
	Paths []string // absolute, sorted, unique; files (or a directory renamed away)
}

// Watcher sends a Batch for each group of changes. New starts nothing; Run
// does the work.
type Watcher struct {
	cfg     Config
	root    string
	dirs    []string            // directory roots, absolute
	files   map[string]struct{} // file roots, absolute
	batches chan Batch
	ready   chan struct{}
	readyMu sync.Once
	started atomic.Bool

	// newFS and addWatch are the two inotify calls that hit kernel limits;
	// tests replace them to simulate an exhausted limit.
	newFS    func() (*fsnotify.Watcher, error)
	addWatch func(fsw *fsnotify.Watcher, dir string) error
	// procDir holds the inotify limits (max_user_watches, max_user_instances).
	procDir string
}

// New checks cfg (the root and every path must exist, every pattern must be a
// valid glob) and returns a Watcher that has not started.
func New(cfg Config) (*Watcher, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.GoneWait == 0 {
		cfg.GoneWait = DefaultGoneWait
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	root, dirs, files, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := newFilter(cfg, root); err != nil {
		return nil, err
	}
	return &Watcher{
		cfg:      cfg,
		root:     root,
		dirs:     dirs,
		files:    files,
		batches:  make(chan Batch),
		ready:    make(chan struct{}),
		newFS:    fsnotify.NewWatcher,
		addWatch: func(fsw *fsnotify.Watcher, dir string) error { return fsw.Add(dir) },
		procDir:  "/proc/sys/fs/inotify",
	}, nil
}

// Batches delivers the batches; it is closed when Run returns. A batch the
// reader has not taken yet absorbs the following ones, so a slow reader gets
// fewer, larger batches and never blocks the watcher.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Ready is closed once Run has set up every watch (or has returned): a change
// made after that is seen.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

func (w *Watcher) markReady() { w.readyMu.Do(func() { close(w.ready) }) }

// Run watches until ctx is done, then releases every watch, closes Batches
// and returns nil. It returns an error only when watching cannot start at all.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("watcher: Run called twice")
	}
	defer close(w.batches)
	defer w.markReady()

	s, err := w.newSession()
	if err != nil {
		return err
	}
	defer s.close()
	s.setup()
	w.markReady()
	return s.loop(ctx)
}

// CountDirs returns how many directories cfg would watch: one inotify watch
// each. devcluster check compares it with fs.inotify.max_user_watches.
func CountDirs(cfg Config) (int, error) {
	root, dirs, files, err := resolve(cfg)
	if err != nil {
		return 0, err
	}
	f, err := newFilter(cfg, root)
	if err != nil {
		return 0, err
	}
	sc := scope{dirs: dirs, files: files}
	seen := make(map[string]bool)
	for _, d := range sc.starts() {
		walkDirs(f, sc, d, seen, nil)
	}
	return len(seen), nil
}

// MaxUserWatches reads the kernel's per-user inotify watch limit.
func MaxUserWatches() (int, error) {
	return readLimit("/proc/sys/fs/inotify", "max_user_watches")
}

// resolve makes the root and paths absolute and sorts the paths into
// directories and files.
func resolve(cfg Config) (root string, dirs []string, files map[string]struct{}, err error) {
	if cfg.Root == "" {
		cfg.Root = "."
	}
	root, err = filepath.Abs(cfg.Root)
	if err != nil {
		return "", nil, nil, fmt.Errorf("watch root %q: %w", cfg.Root, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", nil, nil, fmt.Errorf("watch root: %w", err)
	}
	if !fi.IsDir() {
		return "", nil, nil, fmt.Errorf("watch root %s: not a directory", root)
	}
	paths := cfg.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files = make(map[string]struct{})
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root, p)
		}
		abs = filepath.Clean(abs)
		fi, err := os.Stat(abs)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", nil, nil, fmt.Errorf("watch path %q (%s): %w", p, abs, err)
		}
		if fi.IsDir() {
			dirs = append(dirs, abs)
		} else {
			files[abs] = struct{}{}
		}
	}
	return root, dirs, files, nil
}

// scope is the set of configured roots: a path is watched only under a
// directory root, or when it is a file root itself.
type scope struct {
	dirs  []string
	files map[string]struct{}
}

func (sc scope) contains(path string) bool {
	if _, ok := sc.files[path]; ok {
		return true
	}
	for _, d := range sc.dirs {
		if isWithin(path, d) {
			return true
		}
	}
	return false
}

func (sc scope) isFileRoot(path string) bool {
	_, ok := sc.files[path]
	return ok
}

// starts returns the directories a walk begins at: the directory roots and
// the parents of the file roots.
func (sc scope) starts() []string {
	out := append([]string(nil), sc.dirs...)
	for f := range sc.files {
		out = append(out, filepath.Dir(f))
	}
	return out
}

// isWithin reports whether path is dir or below it.
func isWithin(path, dir string) bool {
	if path == dir {
		return true
	}
	if dir == string(filepath.Separator) {
		return strings.HasPrefix(path, dir)
	}
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

// walkDirs visits dir and every directory below it that the filter lets in
// and that is in scope, once each (seen), calling visit for each.
func walkDirs(f *filter, sc scope, dir string, seen map[string]bool, visit func(dir string)) {
	if seen[dir] {
		return
	}
	seen[dir] = true
	if visit != nil {
		visit(dir)
	}
	_ = f.enterDir(dir) // an unreadable .gitignore only loses its rules
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if sc.contains(p) && !f.skipDir(p) {
			walkDirs(f, sc, p, seen, visit)
		}
	}
}
