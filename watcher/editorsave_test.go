package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// editorSave is one editor's way of saving app.py in dir: the system calls
// it makes, in order, as steps (so that the benchmark can time each). vim's
// were traced with strace (vim 9.0, :w with the defaults writebackup,
// backupcopy=auto, fsync, swapfile); VS Code's and JetBrains' follow their
// file-saving code (Node's fs.writeFile, VS Code's atomic write with a
// .vsctmp sibling, IntelliJ's SafeFileOutputStream "safe write").
type editorSave struct {
	name  string
	steps []saveStep
}

// saveStep is one system call (or a few that always go together) of a save.
type saveStep struct {
	name string
	do   func(s *saveState) error
}

// saveState is what a save's steps share: the directory, the new content,
// and the file the editor has open.
type saveState struct {
	dir, content string
	f, swap      *os.File
	fname        string // the name s.f was opened as
	app          bool   // the last step made an event on app.py that the watcher counts
}

func (s *saveState) path(name string) string { return filepath.Join(s.dir, name) }

// run performs every step; after is called after each, for timing, with
// whether the step made an event on app.py.
func (e editorSave) run(dir, content string, after func(step int, app bool)) error {
	s := &saveState{dir: dir, content: content}
	defer func() {
		for _, f := range []*os.File{s.f, s.swap} {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, st := range e.steps {
		s.app = false
		if err := st.do(s); err != nil {
			return err
		}
		if after != nil {
			after(i, s.app)
		}
	}
	return nil
}

func step(name string, do func(s *saveState) error) saveStep { return saveStep{name, do} }

func openStep(name string, flag int) saveStep {
	return step("open "+name, func(s *saveState) (err error) {
		_, statErr := os.Lstat(s.path(name))
		s.f, err = os.OpenFile(s.path(name), flag, 0o644)
		s.fname = name
		s.app = name == "app.py" && (statErr != nil || flag&os.O_TRUNC != 0)
		return err
	})
}

func renameStep(from, to string) saveStep {
	return step("rename "+from+" "+to, func(s *saveState) error {
		s.app = from == "app.py" || to == "app.py"
		return os.Rename(s.path(from), s.path(to))
	})
}

func removeStep(name string) saveStep {
	return step("unlink "+name, func(s *saveState) error {
		s.app = name == "app.py"
		return os.Remove(s.path(name))
	})
}

var (
	writeStep = step("write", func(s *saveState) error {
		s.app = s.fname == "app.py"
		_, err := s.f.WriteString(s.content)
		return err
	})
	truncateStep = step("ftruncate 0", func(s *saveState) error { s.app = s.fname == "app.py"; return s.f.Truncate(0) })
	fsyncStep    = step("fsync", func(s *saveState) error { return s.f.Sync() })
	// An attribute change counts only as a touch (see touched): after an
	// fsync longer than the kernel's timestamp tick it is ignored, within
	// one tick it is in the batch of the write anyway.
	fchmodStep = step("fchmod 0644", func(s *saveState) error { return s.f.Chmod(0o644) })
	closeStep  = step("close", func(s *saveState) error { err := s.f.Close(); s.f = nil; return err })
)

// editorSaves returns the save patterns of vim, VS Code and JetBrains IDEs.
func editorSaves() []editorSave {
	return []editorSave{
		{"vim (writebackup, backupcopy=auto: rename to app.py~, write anew)", []saveStep{
			// Can vim create a file with the original's owner? Then it may rename.
			openStep("4913", os.O_WRONLY|os.O_CREATE|os.O_EXCL),
			step("fchown", func(s *saveState) error { return s.f.Chown(os.Getuid(), os.Getgid()) }),
			closeStep,
			removeStep("4913"),
			renameStep("app.py", "app.py~"),
			// The swap file is brought up to date and synced before the new
			// file is written: app.py is missing for as long as this fsync.
			step("write and fsync .app.py.swp", func(s *saveState) (err error) {
				if s.swap, err = os.OpenFile(s.path(".app.py.swp"), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
					return err
				}
				if _, err := s.swap.WriteAt(make([]byte, 8192), 4096); err != nil {
					return err
				}
				return s.swap.Sync()
			}),
			openStep("app.py", os.O_WRONLY|os.O_CREATE),
			truncateStep, writeStep, fsyncStep, fchmodStep, closeStep,
			removeStep("app.py~"),
		}},
		{"vim in place (backupcopy=yes, or a file under backupskip such as /tmp)", []saveStep{
			openStep("app.py", os.O_WRONLY|os.O_CREATE),
			truncateStep, writeStep, fsyncStep, fchmodStep, closeStep,
		}},
		{"VS Code in place", []saveStep{
			openStep("app.py", os.O_WRONLY|os.O_CREATE|os.O_TRUNC),
			writeStep, closeStep,
		}},
		{"VS Code atomic (temp + rename)", []saveStep{
			openStep("app.py.vsctmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC),
			writeStep, closeStep,
			renameStep("app.py.vsctmp", "app.py"),
		}},
		{"JetBrains safe write", []saveStep{
			openStep("app.py___jb_tmp___", os.O_WRONLY|os.O_CREATE|os.O_TRUNC),
			writeStep, fsyncStep, closeStep,
			renameStep("app.py", "app.py___jb_old___"),
			renameStep("app.py___jb_tmp___", "app.py"),
			removeStep("app.py___jb_old___"),
		}},
	}
}

// BenchmarkEditorSaveGaps performs each editor's save b.N times and reports
// the gaps the debounce must bridge, from the times of the system calls
// (the editor's side; an in-process watcher's receipt times would measure
// the Go scheduler instead): gap-µs, the largest time between two calls that
// make an event on app.py with app.py present in between; missing-µs, the
// largest time app.py was missing (renamed away until the new one exists:
// vim and JetBrains), which the watcher bridges with Config.GoneWait; and
// span-µs, first to last event. It logs the median and largest time of each
// step, and the events inotify reported for one save.
//
//	go test -run '^$' -bench EditorSaveGaps -benchtime 30x -v ./watcher
func BenchmarkEditorSaveGaps(b *testing.B) {
	for _, e := range editorSaves() {
		b.Run(e.name, func(b *testing.B) {
			dir := b.TempDir()
			writeFiles(b, dir, map[string]string{"app.py": "v0", ".app.py.swp": "swap"})
			fsw, err := fsnotify.NewWatcher()
			if err != nil {
				b.Fatal(err)
			}
			defer fsw.Close()
			if err := fsw.Add(dir); err != nil {
				b.Fatal(err)
			}
			steps := make([][]time.Duration, len(e.steps))
			var gaps saveGaps
			var sample []string
			for i := range b.N {
				var t saveTimes
				t.last = time.Now()
				err := e.run(dir, "v"+strconv.Itoa(i+1), func(k int, app bool) {
					now := time.Now()
					steps[k] = append(steps[k], now.Sub(t.last))
					t.last = now
					if app {
						t.event(now, strings.HasPrefix(e.steps[k].name, "rename app.py "))
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				gaps.add(t)
				evs := collectUntilMark(b, fsw, dir)
				if i == 0 {
					sample = evs
				}
			}
			b.ReportMetric(float64(gaps.gap.Microseconds()), "gap-µs")
			b.ReportMetric(float64(gaps.missing.Microseconds()), "missing-µs")
			b.ReportMetric(float64(gaps.span.Microseconds()), "span-µs")
			var lines []string
			for k, d := range steps {
				slices.Sort(d)
				lines = append(lines, fmt.Sprintf("  %-34s median %8.1f µs  max %8.1f µs", e.steps[k].name,
					float64(d[len(d)/2].Nanoseconds())/1e3, float64(d[len(d)-1].Nanoseconds())/1e3))
			}
			b.Logf("%d saves, steps:\n%s\nevents of one save: %s", b.N, strings.Join(lines, "\n"), strings.Join(sample, ", "))
		})
	}
}

// saveTimes follows one save's events on app.py.
type saveTimes struct {
	last, first, prev, goneAt time.Time
	gap, missing              time.Duration
}

// event records a call that made an event on app.py at now; gone says it
// moved app.py away.
func (t *saveTimes) event(now time.Time, gone bool) {
	switch {
	case t.first.IsZero():
		t.first = now
	case !t.goneAt.IsZero():
		t.missing = max(t.missing, now.Sub(t.goneAt))
		t.goneAt = time.Time{}
	default:
		t.gap = max(t.gap, now.Sub(t.prev))
	}
	if gone {
		t.goneAt = now
	}
	t.prev = now
}

// saveGaps holds the largest of every save's times.
type saveGaps struct{ gap, missing, span time.Duration }

func (g *saveGaps) add(t saveTimes) {
	g.gap, g.missing = max(g.gap, t.gap), max(g.missing, t.missing)
	g.span = max(g.span, t.prev.Sub(t.first))
}

// collectUntilMark writes a marker file once the watch has been quiet for
// 20 ms and returns the events received before the marker's own (inotify
// keeps order), as "OP name".
func collectUntilMark(b *testing.B, fsw *fsnotify.Watcher, dir string) []string {
	b.Helper()
	mark := filepath.Join(dir, "zz.mark")
	var evs []string
	marked := false
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-fsw.Events:
			if ev.Name != mark {
				evs = append(evs, ev.Op.String()+" "+filepath.Base(ev.Name))
			} else if marked {
				return evs
			}
		case err := <-fsw.Errors:
			b.Fatal(err)
		case <-time.After(20 * time.Millisecond):
			if !marked {
				marked = true
				if err := os.WriteFile(mark, nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		case <-deadline:
			b.Fatal("no marker event within 10s")
		}
	}
}

// TestEditorSavesOneBatch: each editor's save, replayed system call by
// system call, is one batch holding app.py with the default debounce, and
// nothing follows it.
func TestEditorSavesOneBatch(t *testing.T) {
	t.Parallel()
	for _, e := range editorSaves() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			h := startEditorProject(t, Config{Debounce: DefaultDebounce})
			if err := e.run(h.root, "v2", nil); err != nil {
				t.Fatal(err)
			}
			h.expect("app.py")
			h.expectNothingElse()
		})
	}
}

// TestVimSaveWithSlowFsyncOneBatch: vim renames app.py away and fsyncs its
// swap file before it creates the new app.py; with a fsync longer than the
// debounce (132 ms measured for a real vim on a busy disk) the save was two
// batches, the first while app.py was missing, which would reload the
// canary onto a missing file and abort the roll.
func TestVimSaveWithSlowFsyncOneBatch(t *testing.T) {
	t.Parallel()
	vim := editorSaves()[0]
	steps := slices.Clone(vim.steps)
	i := slices.IndexFunc(steps, func(s saveStep) bool { return s.name == "write and fsync .app.py.swp" })
	if i < 0 {
		t.Fatal("vim's save has no swap fsync step")
	}
	slow := steps[i]
	steps[i] = step("slow fsync of .app.py.swp", func(s *saveState) error {
		// The disk is slow: this is the time the fsync takes, not a wait for
		// something that polling could detect.
		time.Sleep(4 * DefaultDebounce)
		return slow.do(s)
	})
	h := startEditorProject(t, Config{Debounce: DefaultDebounce})
	if err := (editorSave{vim.name, steps}).run(h.root, "v2", nil); err != nil {
		t.Fatal(err)
	}
	h.expect("app.py")
	h.expectNothingElse()
}

// startEditorProject starts a watcher on a project with app.py and the swap
// file vim keeps while it edits it.
func startEditorProject(t *testing.T, cfg Config) *harness {
	t.Helper()
	cfg.Root = t.TempDir()
	writeFiles(t, cfg.Root, map[string]string{"app.py": "v1", ".app.py.swp": "swap"})
	return start(t, cfg, nil)
}
