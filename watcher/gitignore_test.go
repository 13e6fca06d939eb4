package watcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitignoreRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		path    string
		isDir   bool
		want    bool // matched (before negation is applied)
	}{
		{"*.pyc", "x.pyc", false, true},
		{"*.pyc", "a/b/x.pyc", false, true},
		{"*.pyc", "x.py", false, false},
		{"secret.py", "pkg/secret.py", false, true},
		{"foo/", "foo", true, true},
		{"foo/", "foo", false, false},
		{"foo/", "a/foo", true, true},
		{"/foo", "foo", false, true},
		{"/foo", "a/foo", false, false},
		{"a/foo", "a/foo", false, true},
		{"a/foo", "b/a/foo", false, false}, // a middle slash anchors too
		{"**/foo", "foo", false, true},
		{"**/foo", "x/y/foo", false, true},
		{"**/foo/bar", "x/foo/bar", false, true},
		{"a/**/b", "a/b", false, true},
		{"a/**/b", "a/x/y/b", false, true},
		{"abc/**", "abc/x.py", false, true},
		{"abc/**", "abc/d/x.py", false, true},
		{"abc/**", "abc", true, false}, // everything inside, not abc itself
		{"doc/*.txt", "doc/x.txt", false, true},
		{"doc/*.txt", "doc/sub/x.txt", false, false},
		{"[!a]b", "cb", false, true},
		{"[!a]b", "ab", false, false},
		{"file{1,2}", "file1", false, false}, // no brace alternatives in git
		{"file{1,2}", "file{1,2}", false, true},
		{`\#notes`, "#notes", false, true},
		{"x?.py", "x1.py", false, true},
		{"trailing   ", "trailing", false, true},
		{`space\ `, "space ", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.path, func(t *testing.T) {
			r, ok := parseGitignoreLine(tt.pattern)
			if !ok {
				t.Fatalf("parseGitignoreLine(%q): got no rule, want one", tt.pattern)
			}
			if got := r.match(tt.path, tt.isDir); got != tt.want {
				t.Errorf("%q matches %q (dir=%v): got %v, want %v", tt.pattern, tt.path, tt.isDir, got, tt.want)
			}
		})
	}
}

func TestGitignoreSkippedLines(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"", "# comment", "   ", "!", "/"} {
		if r, ok := parseGitignoreLine(line); ok {
			t.Errorf("parseGitignoreLine(%q): got rule %+v, want none", line, r)
		}
	}
	r, ok := parseGitignoreLine("!keep.py")
	if !ok || !r.negate || r.pattern != "keep.py" {
		t.Errorf(`parseGitignoreLine("!keep.py"): got %+v, want negated keep.py`, r)
	}
	r, ok = parseGitignoreLine(`\!bang`)
	if !ok || r.negate || r.pattern != "!bang" {
		t.Errorf(`parseGitignoreLine("\!bang"): got %+v, want literal !bang`, r)
	}
}

// writeFiles creates files (with parents) under dir; a name ending in "/" is
// a directory.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGitignoreNested(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".git/":            "",
		".gitignore":       "*.gen.py\n/local_settings.py\ngenerated/\n!keep.gen.py\n",
		"pkg/.gitignore":   "!pkg_keep.gen.py\nprivate.py\n",
		"sub/.gitignore":   "# nothing but a comment\n",
		"pkg/deep/x.py":    "",
		"pkg/private.py":   "",
		"other/private.py": "",
	})
	sub := filepath.Join(root, "sub")
	g := newGitignore()
	// Loading from a subdirectory of the repository picks up the top .gitignore.
	if err := g.loadParents(sub); err != nil {
		t.Fatal(err)
	}
	if err := g.load(filepath.Join(root, "pkg")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"a.gen.py", false, true},
		{"sub/a.gen.py", false, true},
		{"keep.gen.py", false, false},           // negated later in the same file
		{"pkg/pkg_keep.gen.py", false, false},   // negated by the nested file
		{"other/pkg_keep.gen.py", false, true},  // the nested rule applies only below pkg
		{"local_settings.py", false, true},      // anchored
		{"pkg/local_settings.py", false, false}, // anchored to the top only
		{"generated", true, true},
		{"generated", false, false}, // dir-only rule, a file of that name
		{"pkg/private.py", false, true},
		{"other/private.py", false, false},
		{"pkg/deep/x.py", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := g.ignored(filepath.Join(root, filepath.FromSlash(tt.path)), tt.isDir); got != tt.want {
				t.Errorf("ignored(%s): got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// FuzzGitignore checks that any .gitignore line parses and matches any path
// without panicking, and that negation only flips the decision.
func FuzzGitignore(f *testing.F) {
	for _, seed := range [][2]string{
		{"*.pyc", "a/b.pyc"}, {"!keep.py", "keep.py"}, {"/build/", "build"}, {"a/**/b", "a/x/b"},
		{"abc/**", "abc"}, {`\#x`, "#x"}, {"[!a-z]*", "Zed"}, {"{a,b}", "{a,b}"}, {"x\\ ", "x "}, {"[", "["},
	} {
		f.Add(seed[0], seed[1], false)
	}
	f.Fuzz(func(t *testing.T, line, path string, isDir bool) {
		r, ok := parseGitignoreLine(line)
		if !ok {
			return
		}
		got := r.match(path, isDir)
		neg, ok := parseGitignoreLine("!" + line)
		if !ok || r.negate || strings.HasPrefix(line, `\`) {
			return
		}
		if !neg.negate || neg.match(path, isDir) != got {
			t.Errorf("line %q: negated rule %+v matches %q differently (%v)", line, neg, path, got)
		}
	})
}
