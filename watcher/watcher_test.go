package watcher

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testDebounce is short to keep tests fast, long enough that the steps of
// one save on a busy machine fall into one batch.
const testDebounce = 150 * time.Millisecond

type harness struct {
	t    *testing.T
	root string
	w    *Watcher
	log  *tstest.Buffer
}

// start runs a watcher on root until the test ends. adjust may change the
// watcher (its hooks) before Run.
func start(t *testing.T, cfg Config, adjust func(*Watcher)) *harness {
	t.Helper()
	if cfg.Debounce == 0 {
		cfg.Debounce = testDebounce
	}
	log := &tstest.Buffer{}
	cfg.Log = log
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
		if _, open := <-w.Batches(); open {
			t.Errorf("Batches after Run returned: got open, want closed")
		}
	})
	select {
	case <-w.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not ready after 10s")
	}
	return &harness{t: t, root: cfg.Root, w: w, log: log}
}

func (h *harness) path(name string) string {
	return filepath.Join(h.root, filepath.FromSlash(name))
}

func (h *harness) paths(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = h.path(n)
	}
	slices.Sort(out)
	return out
}

func (h *harness) write(name, content string) {
	h.t.Helper()
	p := h.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// next returns the next batch, failing the test after timeout.
func (h *harness) next(timeout time.Duration) Batch {
	h.t.Helper()
	select {
	case b, ok := <-h.w.Batches():
		if !ok {
			h.t.Fatal("Batches closed early")
		}
		return b
	case <-time.After(timeout):
		h.t.Fatalf("no batch within %v", timeout)
		return Batch{}
	}
}

// expect takes the next batch and checks it holds exactly names.
func (h *harness) expect(names ...string) {
	h.t.Helper()
	got := h.next(5 * time.Second).Paths
	if want := h.paths(names...); !slices.Equal(got, want) {
		h.t.Fatalf("batch: got %v, want %v", h.rel(got), h.rel(want))
	}
}

// expectNothingElse proves that no other batch is pending or coming: a
// control file written now must arrive alone in the next batch.
func (h *harness) expectNothingElse() {
	h.t.Helper()
	h.write("control_file.py", time.Now().String())
	h.expect("control_file.py")
}

func (h *harness) rel(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		r, err := filepath.Rel(h.root, p)
		if err != nil {
			r = p
		}
		out[i] = filepath.ToSlash(r)
	}
	return out
}

func TestEdit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app.py": "v1", "pkg/views.py": "v1"})
	h := start(t, Config{Root: root}, nil)

	h.write("app.py", "v2")
	h.expect("app.py")
	h.write("pkg/views.py", "v2")
	h.expect("pkg/views.py")
	h.expectNothingElse()
	if log := h.log.String(); log != "" {
		t.Errorf("log: got %q, want nothing", log)
	}
}

// TestAtomicSave saves the way editors do: never writing the file in place.
func TestAtomicSave(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		save func(h *harness)
	}{
		{"vscode temp then rename", func(h *harness) {
			h.write(".app.py.tmp", "v2")
			if err := os.Rename(h.path(".app.py.tmp"), h.path("app.py")); err != nil {
				t.Fatal(err)
			}
		}},
		{"temp without ignored suffix", func(h *harness) {
			h.write(".#tmp-app-12345", "v2")
			if err := os.Rename(h.path(".#tmp-app-12345"), h.path("app.py")); err != nil {
				t.Fatal(err)
			}
		}},
		{"vim backup rename", func(h *harness) {
			h.write("4913", "") // vim checks it may create files
			if err := os.Remove(h.path("4913")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(h.path("app.py"), h.path("app.py~")); err != nil {
				t.Fatal(err)
			}
			h.write("app.py", "v2")
			if err := os.Remove(h.path("app.py~")); err != nil {
				t.Fatal(err)
			}
		}},
		{"swap file written alongside", func(h *harness) {
			h.write(".app.py.swp", "swap")
			h.write("app.py", "v2")
			if err := os.Remove(h.path(".app.py.swp")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"app.py": "v1"})
			h := start(t, Config{Root: root}, nil)
			tt.save(h)
			h.expect("app.py")
			h.expectNothingElse()
		})
	}
}

func TestNewDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, Config{Root: root}, nil)

	// Created with its files at once: the files may exist before the watch.
	writeFiles(t, root, map[string]string{"pkg/sub/mod.py": "v1", "pkg/__init__.py": ""})
	h.expect("pkg/__init__.py", "pkg/sub/mod.py")
	// The new directory is watched: a later edit inside it is seen.
	h.write("pkg/sub/mod.py", "v2")
	h.expect("pkg/sub/mod.py")

	// A directory moved in from outside: its files count as changed.
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"lib/a.py": "", "lib/deep/b.py": "", "lib/readme.txt": ""})
	if err := os.Rename(filepath.Join(outside, "lib"), h.path("lib")); err != nil {
		t.Fatal(err)
	}
	h.expect("lib/a.py", "lib/deep/b.py")
	h.write("lib/deep/b.py", "v2")
	h.expect("lib/deep/b.py")
	h.expectNothingElse()
}

func TestDeletedDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"pkg/a.py": "", "pkg/sub/b.py": "", "keep.py": ""})
	h := start(t, Config{Root: root}, nil)

	if err := os.RemoveAll(h.path("pkg")); err != nil {
		t.Fatal(err)
	}
	h.expect("pkg/a.py", "pkg/sub/b.py")

	// Recreated: watched again.
	h.write("pkg/sub/c.py", "v1")
	h.expect("pkg/sub/c.py")
	h.write("pkg/sub/c.py", "v2")
	h.expect("pkg/sub/c.py")

	// Moved away: no file event of its own, the directory is reported.
	if err := os.Rename(h.path("pkg"), filepath.Join(t.TempDir(), "gone")); err != nil {
		t.Fatal(err)
	}
	h.expect("pkg")
	h.expectNothingElse()
	if log := h.log.String(); log != "" {
		t.Errorf("log: got %q, want nothing", log)
	}
}

func TestIgnoredPathsProduceNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before map[string]string // files present when the watcher starts
		cfg    Config
		change func(h *harness)
	}{
		{"git dir", map[string]string{".git/HEAD": "ref"}, Config{}, func(h *harness) {
			h.write(".git/HEAD", "ref2")
			h.write(".git/objects/ab/cdef.py", "x")
		}},
		{"pycache", map[string]string{"pkg/__pycache__/": ""}, Config{}, func(h *harness) {
			h.write("pkg/__pycache__/mod.cpython-311.pyc", "x")
			h.write("__pycache__/x.py", "x") // new ignored directory
		}},
		{"virtualenv of any name", map[string]string{"myenv/pyvenv.cfg": "", "myenv/lib/": ""}, Config{}, func(h *harness) {
			h.write("myenv/lib/site.py", "x")
		}},
		{"virtualenv created while watching", nil, Config{}, func(h *harness) {
			h.write("env2/pyvenv.cfg", "home = /usr")
			h.write("env2/lib/python3.11/site-packages/flask/app.py", "x")
			h.write("env2/bin/activate.py", "x")
		}},
		{"venv", map[string]string{"venv/": ""}, Config{}, func(h *harness) {
			h.write("venv/lib/x.py", "x")
		}},
		{"pyc", nil, Config{}, func(h *harness) { h.write("app.pyc", "x") }},
		{"swap", nil, Config{}, func(h *harness) { h.write(".app.py.swp", "x") }},
		{"node_modules", map[string]string{"node_modules/": ""}, Config{}, func(h *harness) {
			h.write("node_modules/pkg/index.py", "x")
		}},
		{"not included", nil, Config{}, func(h *harness) { h.write("templates/index.html", "x") }},
		{"gitignored file", map[string]string{".gitignore": "secret.py\ngen/\n"}, Config{Gitignore: true}, func(h *harness) {
			h.write("secret.py", "x")
			h.write("gen/out.py", "x")
		}},
		{"gitignore written while watching", map[string]string{"out/": ""}, Config{Gitignore: true}, func(h *harness) {
			h.write(".gitignore", "out/\n")
			h.write("out/x.py", "x")
		}},
		{"excluded", map[string]string{"tests/": ""}, Config{Exclude: []string{"tests", "*_local.py"}}, func(h *harness) {
			h.write("tests/test_x.py", "x")
			h.write("settings_local.py", "x")
		}},
		{"sqlite and logs", nil, Config{Include: []string{"*"}}, func(h *harness) {
			h.write("db.sqlite3", "x")
			h.write("db.sqlite3-journal", "x")
			h.write("app.log", "x")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeFiles(t, root, tt.before)
			cfg := tt.cfg
			cfg.Root = root
			h := start(t, cfg, nil)
			tt.change(h)
			h.expectNothingElse()
		})
	}
}

// TestManyFilesOneBatch is `git checkout` of 200 files: one batch, with the
// default debounce.
func TestManyFilesOneBatch(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, Config{Root: root, Debounce: DefaultDebounce}, nil)
	var want []string
	for i := range 200 {
		name := fmt.Sprintf("pkg%d/mod%03d.py", i%4, i)
		want = append(want, name)
		h.write(name, "v")
	}
	got := h.next(10 * time.Second).Paths
	if len(got) != len(want) {
		t.Fatalf("batch: got %d paths, want %d", len(got), len(want))
	}
	if w := h.paths(want...); !slices.Equal(got, w) {
		t.Fatalf("batch: got %v, want %v", h.rel(got), h.rel(w))
	}
	h.expectNothingElse()
}

func TestChmodOnlyProducesNothing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app.py": "v1"})
	// Written an hour ago: a chmod in the clock tick of a write is a touch.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "app.py"), old, old); err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{Root: root}, nil)
	if err := os.Chmod(h.path("app.py"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.expectNothingElse()
}

// TestTouchReloads: "touch app.py", a common way to ask for a reload, was
// ignored with every other attribute change. A chmod still is
// (TestChmodOnlyProducesNothing), and so is touching a directory.
func TestTouchReloads(t *testing.T) {
	t.Parallel()
	touch := tstest.NeedTool(t, "touch", "sudo apt-get install -y coreutils")
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app.py": "v1", "pkg/views.py": "v1"})
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{"app.py", "pkg/views.py"} {
		if err := os.Chtimes(filepath.Join(root, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	h := start(t, Config{Root: root}, nil)
	if out, err := exec.Command(touch, h.path("app.py")).CombinedOutput(); err != nil {
		t.Fatalf("touch: %v: %s", err, out)
	}
	h.expect("app.py")
	if out, err := exec.Command(touch, h.path("pkg")).CombinedOutput(); err != nil {
		t.Fatalf("touch pkg: %v: %s", err, out)
	}
	if err := os.Chmod(h.path("pkg/views.py"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.expectNothingElse()
}

// TestLogEscapesControlBytes: file names come from the user's tree, and the
// log went to the terminal with them verbatim, so a directory named with an
// escape sequence could drive the terminal.
func TestLogEscapesControlBytes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// A .gitignore that is a directory cannot be read: the watcher says so,
	// naming the directory.
	if err := os.MkdirAll(filepath.Join(root, "x\x1b]0;T\x07", ".gitignore"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{Root: root, Gitignore: true}, nil)
	log := h.log.String()
	if !strings.Contains(log, `watch: x\x1b]0;T\x07: read `) {
		t.Errorf("log: got %q, want the directory named with escapes", log)
	}
	if strings.ContainsAny(log, "\x1b\x07") {
		t.Errorf("log: got %q, want no raw control bytes", log)
	}
}

// TestMaxWait writes every 100ms for 3s with a 300ms debounce: the batch is
// never quiet long enough, so only the 2s cap can close it.
func TestMaxWait(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, Config{Root: root, Debounce: 300 * time.Millisecond, MaxWait: 2 * time.Second}, nil)

	stop := make(chan struct{})
	writerDone := make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := range 30 {
			os.WriteFile(h.path("busy.py"), []byte{byte(i)}, 0o644)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); <-writerDone }()

	select {
	case b := <-h.w.Batches():
		if want := h.paths("busy.py"); !slices.Equal(b.Paths, want) {
			t.Errorf("batch: got %v, want %v", h.rel(b.Paths), h.rel(want))
		}
		t.Logf("first batch %v after the first write", time.Since(begin).Round(time.Millisecond))
	case <-writerDone:
		t.Fatalf("no batch during 3s of writes every 100ms: MaxWait did not cap the batch")
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"src/app.py": "", "other/x.py": "", "manage.py": "", "notes.json": ""})
	h := start(t, Config{Root: root, Paths: []string{"src", "manage.py", "notes.json"}}, nil)
	h.write("other/x.py", "v2") // outside the paths
	h.write("src/app.py", "v2")
	h.write("manage.py", "v2")
	h.write("notes.json", "v2") // named in Paths: reported though not included
	h.expect("manage.py", "notes.json", "src/app.py")
	h.write("other/y.py", "v2")
	h.write("src/new/z.py", "v1")
	h.expect("src/new/z.py")
}

func TestPollMode(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app.py": "v1", "pkg/old.py": "v1", "venv/x.py": ""})
	h := start(t, Config{Root: root, Poll: true, PollInterval: 20 * time.Millisecond}, nil)

	h.write("app.py", "v2")
	h.expect("app.py")
	h.write("pkg/new.py", "v1")
	h.expect("pkg/new.py")
	if err := os.Remove(h.path("pkg/old.py")); err != nil {
		t.Fatal(err)
	}
	h.expect("pkg/old.py")
	writeFiles(t, root, map[string]string{"added/sub/c.py": ""})
	h.expect("added/sub/c.py")
	h.write("added/sub/c.py", "v2")
	h.expect("added/sub/c.py")
	if err := os.RemoveAll(h.path("added")); err != nil {
		t.Fatal(err)
	}
	h.expect("added/sub/c.py")
	// Same size, new inode: an atomic save is seen by polling too.
	h.write("tmp.swp", "v3")
	if err := os.Rename(h.path("tmp.swp"), h.path("app.py")); err != nil {
		t.Fatal(err)
	}
	h.expect("app.py")
	h.write("venv/x.py", "v2")
	h.write("app.pyc", "x")
	h.write("penv/pyvenv.cfg", "home = /usr")
	h.write("penv/lib/site.py", "x")
	h.expectNothingElse()
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	w, err := New(Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatalf("first Run: got %v, want nil", err)
	}
	if err := w.Run(ctx); err == nil {
		t.Errorf("second Run: got nil, want an error")
	}
}
