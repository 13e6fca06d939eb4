package watcher

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// fileState is what polling compares: a save changes the size or the
// modification time, an atomic save (rename over) changes the inode.
type fileState struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stateOf(e fs.DirEntry) (fileState, bool) {
	fi, err := e.Info()
	if err != nil {
		return fileState{}, false
	}
	st := fileState{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st, true
}

// poll rereads every polled directory and reports files that appeared,
// changed or disappeared, and the files of new directories.
func (s *session) poll(now time.Time) {
	for _, dir := range s.pollDirs() {
		snap, ok := s.polled[dir]
		if !ok {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				for name := range snap {
					s.deb.add(filepath.Join(dir, name), now)
				}
				delete(s.polled, dir)
			}
			continue
		}
		if !s.isRoot(dir) && slices.ContainsFunc(entries, isPyvenvCfg) {
			s.forget(dir) // became a virtualenv
			continue
		}
		seen := make(map[string]bool, len(entries))
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				if !s.tracked(p) && s.scope.contains(p) && !s.filter.skipDir(p) {
					s.track(p, now, true)
				}
				continue
			}
			if e.Name() == ".gitignore" && s.filter.git != nil {
				seen[gitignoreKey] = true
				s.pollGitignore(dir, e)
			}
			if !s.wanted(p) {
				continue
			}
			st, ok := stateOf(e)
			if !ok {
				continue
			}
			seen[e.Name()] = true
			if old, ok := snap[e.Name()]; !ok || old != st {
				snap[e.Name()] = st
				s.deb.add(p, now)
			}
		}
		for name := range snap {
			if name == gitignoreKey {
				if !seen[name] { // .gitignore deleted: forget its rules
					delete(snap, name)
					_ = s.filter.git.load(dir)
				}
				continue
			}
			if !seen[name] {
				delete(snap, name)
				s.deb.add(filepath.Join(dir, name), now)
			}
		}
	}
	if len(s.polled) == 0 && s.ticker != nil {
		s.ticker.Stop()
		s.ticker = nil
	}
}

// gitignoreKey keeps the state of a polled directory's .gitignore in its
// snapshot, under a name no file can have.
const gitignoreKey = "\x00.gitignore"

// pollGitignore reloads a polled directory's .gitignore when it changed.
func (s *session) pollGitignore(dir string, e fs.DirEntry) {
	const key = gitignoreKey
	snap := s.polled[dir]
	st, ok := stateOf(e)
	if !ok || snap[key] == st {
		return
	}
	snap[key] = st
	if err := s.filter.git.load(dir); err != nil {
		s.logf("watch: %s: %v", s.filter.relDisplay(filepath.Join(dir, ".gitignore")), err)
	}
}
