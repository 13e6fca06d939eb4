package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/devcluster/devcluster/internal/termsafe"
	"github.com/fsnotify/fsnotify"
)

// session is the state of one Run. Only the Run goroutine touches it.
type session struct {
	w      *Watcher
	filter *filter
	scope  scope
	deb    *debouncer

	fsw     *fsnotify.Watcher               // nil when polling only
	watched map[string]bool                 // directories with an inotify watch
	polled  map[string]map[string]fileState // directories polled → their files
	ticker  *time.Ticker                    // runs while anything is polled

	// limitErr is the first inotify limit hit; from then on new
	// directories are polled. limitReported makes the message appear once.
	limitErr      error
	limitReported bool
	overflowed    bool
}

func (w *Watcher) newSession() (*session, error) {
	f, err := newFilter(w.cfg, w.root)
	if err != nil {
		return nil, err
	}
	s := &session{
		w:       w,
		filter:  f,
		scope:   scope{dirs: w.dirs, files: w.files},
		deb:     newDebouncer(w.cfg.Debounce, w.cfg.MaxWait).holdMissing(w.cfg.GoneWait, exists),
		watched: make(map[string]bool),
		polled:  make(map[string]map[string]fileState),
	}
	if !w.cfg.Poll {
		fsw, err := w.newFS()
		switch {
		case err == nil:
			s.fsw = fsw
		case classifyLimit(err) != noLimit:
			s.limitErr = err // reported after setup, with the number of polled directories
		default:
			return nil, fmt.Errorf("start file watcher: %w", err)
		}
	}
	return s, nil
}

func (s *session) close() {
	if s.ticker != nil {
		s.ticker.Stop()
	}
	if s.fsw != nil {
		s.fsw.Close()
	}
}

// logf writes one line to the log. File names come from the user's tree,
// so control characters in them are escaped before they reach a terminal.
func (s *session) logf(format string, args ...any) {
	fmt.Fprint(s.w.cfg.Log, termsafe.Escape(fmt.Sprintf(format, args...))+"\n")
}

// setup walks every root, watching (or polling) each directory, without
// reporting the files it finds.
func (s *session) setup() {
	for _, d := range s.scope.starts() {
		s.track(d, time.Time{}, false)
	}
	s.reportLimit()
}

func (s *session) tracked(dir string) bool {
	_, polled := s.polled[dir]
	return s.watched[dir] || polled
}

// track watches dir — or polls it once an inotify limit has been hit — and
// then the directories below it. With report, the files found count as
// changed: they appeared with a new directory, before its watch existed.
// The watch is added before the directory is read, so a file created in
// between is seen by one or the other.
func (s *session) track(dir string, now time.Time, report bool) {
	if s.tracked(dir) {
		return
	}
	if err := s.filter.enterDir(dir); err != nil {
		s.logf("watch: %s: %v", s.filter.relDisplay(dir), err)
	}
	poll := true
	if s.fsw != nil && s.limitErr == nil {
		err := s.w.addWatch(s.fsw, dir)
		switch {
		case err == nil:
			s.watched[dir] = true
			poll = false
		case errors.Is(err, fs.ErrNotExist):
			return // removed already; its parent reports it
		case classifyLimit(err) != noLimit:
			s.limitErr = err
		default:
			s.logf("watch: cannot watch %s (%v); polling it instead", s.filter.relDisplay(dir), err)
		}
	}
	var snap map[string]fileState
	if poll {
		snap = make(map[string]fileState)
		s.polled[dir] = snap
		if s.ticker == nil {
			s.ticker = time.NewTicker(s.w.cfg.PollInterval)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.logf("watch: read %s: %v", s.filter.relDisplay(dir), err)
		}
		return
	}
	if !s.isRoot(dir) && slices.ContainsFunc(entries, isPyvenvCfg) {
		s.forget(dir) // became a virtualenv since skipDir looked
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if s.scope.contains(p) && !s.filter.skipDir(p) {
				s.track(p, now, report)
			}
			continue
		}
		if !s.wanted(p) {
			continue
		}
		if poll {
			if st, ok := stateOf(e); ok {
				snap[e.Name()] = st
			}
		}
		if report {
			s.deb.add(p, now)
		}
	}
}

// wanted reports whether a change to the file at path is reported.
func (s *session) wanted(path string) bool {
	if s.scope.isFileRoot(path) {
		return true
	}
	return s.scope.contains(path) && s.filter.wantFile(path)
}

// untrack drops the watches of dir and of the directories below it; the
// kernel has removed them already when dir was deleted. Polled directories
// stay: the next poll finds them gone and reports their files.
func (s *session) untrack(dir string) {
	for d := range s.watched {
		if isWithin(d, dir) {
			_ = s.fsw.Remove(d) // fails when the kernel dropped it first
			delete(s.watched, d)
		}
	}
}

// forget stops watching and polling dir and everything below it, without
// reporting anything: it turned out to be ignored.
func (s *session) forget(dir string) {
	s.untrack(dir)
	s.deb.drop(dir)
	for d := range s.polled {
		if isWithin(d, dir) {
			delete(s.polled, d)
		}
	}
}

func isPyvenvCfg(e fs.DirEntry) bool { return e.Name() == "pyvenv.cfg" }

func (s *session) isRoot(dir string) bool {
	for _, d := range s.scope.starts() {
		if d == dir {
			return true
		}
	}
	return false
}

// handle turns one inotify event into changed paths. An attribute change
// counts only when it was a touch (see touched).
func (s *session) handle(ev fsnotify.Event, now time.Time) {
	path := filepath.Clean(ev.Name)
	if !ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) &&
		!(ev.Has(fsnotify.Chmod) && touched(path)) {
		return // a chmod, or an operation not asked for
	}
	if filepath.Base(path) == ".gitignore" && s.filter.git != nil {
		if err := s.filter.git.load(filepath.Dir(path)); err != nil {
			s.logf("watch: %s: %v", s.filter.relDisplay(path), err)
		}
	}
	if filepath.Base(path) == "pyvenv.cfg" && ev.Has(fsnotify.Create|fsnotify.Write) {
		// A virtualenv is being created here: stop watching it.
		if dir := filepath.Dir(path); !s.isRoot(dir) {
			s.forget(dir)
		}
		return
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
			if !s.tracked(path) && s.scope.contains(path) && !s.filter.skipDir(path) {
				s.track(path, now, true)
			}
			return
		}
	}
	if ev.Has(fsnotify.Remove|fsnotify.Rename) && s.watched[path] {
		s.untrack(path)
		if ev.Has(fsnotify.Rename) {
			// Moved away: its files are gone without an event of their own.
			s.deb.add(path, now)
		}
		return
	}
	if s.wanted(path) {
		s.deb.add(path, now)
	}
}

// handleError reacts to an error from inotify's event reader.
func (s *session) handleError(err error, now time.Time) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		// Events were lost: say that anything may have changed.
		if !s.overflowed {
			s.overflowed = true
			s.logf("watch: too many changes at once, the kernel dropped events; reporting the watched directories as changed")
		}
		for _, d := range s.scope.starts() {
			s.deb.add(d, now)
		}
		return
	}
	s.logf("watch: %v", err)
}

// reportLimit writes the inotify-limit message once, after the first limit hit.
func (s *session) reportLimit() {
	if s.limitErr == nil || s.limitReported {
		return
	}
	s.limitReported = true
	kind := classifyLimit(s.limitErr)
	name := "max_user_watches"
	if kind == instanceLimit {
		name = "max_user_instances"
	}
	limit, err := readLimit(s.w.procDir, name)
	if err != nil {
		limit = -1
	}
	msg := limitMessage{
		kind:     kind,
		err:      s.limitErr,
		limit:    limit,
		watched:  len(s.watched),
		polled:   len(s.polled),
		biggest:  biggestSubtrees(s.filter, s.scope, 3),
		interval: s.w.cfg.PollInterval,
	}
	// One Write, so that the message is not interleaved with other output;
	// escaped as logf's lines are, since it names directories.
	_, _ = s.w.cfg.Log.Write([]byte(termsafe.Escape(msg.String())))
}

func (s *session) tick() <-chan time.Time {
	if s.ticker == nil {
		return nil
	}
	return s.ticker.C
}

// loop is Run's event loop. A closed batch waits in ready until the reader
// takes it; later batches are merged into it meanwhile.
func (s *session) loop(ctx context.Context) error {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if s.fsw != nil {
		events, errs = s.fsw.Events, s.fsw.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var ready []string
	var out chan<- Batch
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			s.handle(ev, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.handleError(err, time.Now())
		case <-s.tick():
			s.poll(time.Now())
		case now := <-timer.C:
			if paths := s.deb.take(now); len(paths) > 0 {
				ready = mergeSorted(ready, paths)
				out = s.w.batches
			}
		case out <- Batch{Paths: ready}:
			ready, out = nil, nil
		}
		s.reportLimit()
		if at, ok := s.deb.due(); ok {
			timer.Reset(time.Until(at))
		}
	}
}

// pollDirs returns the polled directories in a stable order.
func (s *session) pollDirs() []string {
	dirs := make([]string, 0, len(s.polled))
	for d := range s.polled {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}
