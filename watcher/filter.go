package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// DefaultInclude returns the file patterns watched when Config.Include is
// empty: Python sources and configuration. Templates and static files are
// left out because frameworks in debug mode reload them without a restart.
func DefaultInclude() []string {
	return []string{"*.py", "*.env", ".env*", "*.toml", "*.ini", "*.cfg", "*.yaml", "*.yml", "*.mo"}
}

// IgnoredDirs returns the directory name patterns never watched: version
// control, virtualenvs, caches and build output. Any directory holding
// pyvenv.cfg is a virtualenv whatever its name and is skipped too.
func IgnoredDirs() []string {
	return []string{
		".git", ".hg", ".svn",
		".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox",
		".mypy_cache", ".pytest_cache", "htmlcov", "build", "dist", "*.egg-info",
	}
}

// IgnoredFiles returns the file name patterns never reported: bytecode,
// editor swap, backup and lock files (4913 is vim's write test), and
// databases and logs that a running app writes itself.
func IgnoredFiles() []string {
	return []string{
		"*.py[co]", "*.sw?", "*~", ".#*", "#*#", "4913", "*.tmp", "*.bak",
		".DS_Store", "*.sqlite3*", "*-journal", "*-wal", "*-shm", "*.log",
	}
}

// filter decides which directories are walked and which files are reported.
// It is owned by one goroutine: the gitignore rules grow as the walk loads
// nested .gitignore files.
type filter struct {
	root         string // absolute
	include      []string
	exclude      []string
	ignoredDirs  []string
	ignoredFiles []string
	git          *gitignore // nil when .gitignore is not honoured
}

func newFilter(cfg Config, root string) (*filter, error) {
	f := &filter{
		root:         root,
		include:      cfg.Include,
		exclude:      cfg.Exclude,
		ignoredDirs:  IgnoredDirs(),
		ignoredFiles: IgnoredFiles(),
	}
	if len(f.include) == 0 {
		f.include = DefaultInclude()
	}
	for _, list := range [][]string{f.include, f.exclude} {
		for _, p := range list {
			if !doublestar.ValidatePattern(p) {
				return nil, fmt.Errorf("watch pattern %q: invalid glob", p)
			}
		}
	}
	if cfg.Gitignore {
		f.git = newGitignore()
		if err := f.git.loadParents(root); err != nil {
			return nil, fmt.Errorf("read .gitignore: %w", err)
		}
	}
	return f, nil
}

// rel is path relative to the root, slash-separated, for pattern matching.
func (f *filter) rel(path string) string {
	r, err := filepath.Rel(f.root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(r)
}

func matchAny(patterns []string, names ...string) bool {
	for _, p := range patterns {
		for _, n := range names {
			if ok, _ := doublestar.Match(p, n); ok {
				return true
			}
		}
	}
	return false
}

// skipDir reports whether the walk must not enter dir (a child of a walked
// directory; the configured roots themselves are never skipped).
func (f *filter) skipDir(dir string) bool {
	base := filepath.Base(dir)
	if matchAny(f.ignoredDirs, base) {
		return true
	}
	if matchAny(f.exclude, base, f.rel(dir)) {
		return true
	}
	if f.git != nil && f.git.ignored(dir, true) {
		return true
	}
	if _, err := os.Lstat(filepath.Join(dir, "pyvenv.cfg")); err == nil {
		return true
	}
	return false
}

// wantFile reports whether a change to the file at path is reported. Its
// directory is assumed to have passed skipDir already.
func (f *filter) wantFile(path string) bool {
	base := filepath.Base(path)
	if matchAny(f.ignoredFiles, base) {
		return false
	}
	rel := f.rel(path)
	if !matchAny(f.include, base, rel) {
		return false
	}
	if matchAny(f.exclude, base, rel) {
		return false
	}
	if f.git != nil && f.gitignored(path) {
		return false
	}
	return true
}

// gitignored reports whether path or one of its directories below the root
// is ignored: a .gitignore written after its directory was walked still
// counts.
func (f *filter) gitignored(path string) bool {
	if f.git.ignored(path, false) {
		return true
	}
	for dir := filepath.Dir(path); isWithin(dir, f.root) && dir != f.root; dir = filepath.Dir(dir) {
		if f.git.ignored(dir, true) {
			return true
		}
	}
	return false
}

// enterDir is called by the walk before it reads dir's children, so that
// rules of dir/.gitignore apply to them.
func (f *filter) enterDir(dir string) error {
	if f.git == nil {
		return nil
	}
	return f.git.load(dir)
}

// relDisplay shortens path for messages: relative to the root when inside it.
func (f *filter) relDisplay(path string) string {
	r := f.rel(path)
	if r == "." || strings.HasPrefix(r, "../") {
		return path
	}
	return r
}
