package watcher

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// gitRule is one pattern line of a .gitignore file.
type gitRule struct {
	pattern  string // doublestar pattern, relative to the .gitignore's directory when anchored
	negate   bool   // "!pattern": re-include
	dirOnly  bool   // "pattern/": directories only
	anchored bool   // contained a slash before its end: matched against the relative path
	// under is set for "dir/**": git matches everything inside dir but not
	// dir itself, which doublestar would also match.
	under string
}

// parseGitignore reads .gitignore syntax (gitignore(5)): comments, blank
// lines, "!" negation, "\" escapes, trailing "/" for directories only, a
// leading or middle "/" anchoring the pattern to the file's directory, and
// "**" for any number of directories.
func parseGitignore(r io.Reader) ([]gitRule, error) {
	var rules []gitRule
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if r, ok := parseGitignoreLine(sc.Text()); ok {
			rules = append(rules, r)
		}
	}
	return rules, sc.Err()
}

func parseGitignoreLine(line string) (gitRule, bool) {
	line = strings.TrimSuffix(line, "\r")
	if line == "" || strings.HasPrefix(line, "#") {
		return gitRule{}, false
	}
	line = trimUnescapedSpaces(line)
	if line == "" {
		return gitRule{}, false
	}
	var r gitRule
	if strings.HasPrefix(line, "!") {
		r.negate = true
		line = line[1:]
	} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if line == "" {
		return gitRule{}, false
	}
	if strings.Contains(line, "/") {
		r.anchored = true
		line = strings.TrimPrefix(line, "/")
	}
	// gitignore has no {a,b} alternatives; doublestar does, so braces are literal.
	line = strings.NewReplacer("{", `\{`, "}", `\}`).Replace(line)
	if strings.HasSuffix(line, "/**") {
		r.under = strings.TrimSuffix(line, "/**")
	}
	r.pattern = line
	return r, true
}

// trimUnescapedSpaces removes trailing spaces unless the last one is escaped
// with a backslash ("foo\ " keeps one space).
func trimUnescapedSpaces(s string) string {
	for strings.HasSuffix(s, " ") && !strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-1]
	}
	if strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-2] + " "
	}
	return s
}

// match reports whether the rule matches rel, a slash-separated path relative
// to the directory of the .gitignore that holds the rule.
func (r gitRule) match(rel string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	if !r.anchored {
		rel = rel[strings.LastIndex(rel, "/")+1:]
	}
	if r.under != "" {
		if ok, _ := doublestar.Match(r.under, rel); ok {
			return false
		}
	}
	ok, err := doublestar.Match(r.pattern, rel)
	return ok && err == nil
}

// gitignore holds the rules of every .gitignore loaded so far, by directory.
// It is owned by one goroutine (the watcher's Run loop, or CountDirs).
type gitignore struct {
	rules map[string][]gitRule // absolute directory → rules of its .gitignore
}

func newGitignore() *gitignore {
	return &gitignore{rules: make(map[string][]gitRule)}
}

// load (re)reads dir/.gitignore; a missing file forgets the old rules.
func (g *gitignore) load(dir string) error {
	f, err := os.Open(filepath.Join(dir, ".gitignore"))
	if err != nil {
		delete(g.rules, dir)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil
		}
		return err
	}
	defer f.Close()
	rules, err := parseGitignore(f)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		delete(g.rules, dir)
		return nil
	}
	g.rules[dir] = rules
	return nil
}

// loadParents loads the .gitignore files between the repository top (the
// nearest ancestor holding .git) and dir, so that a project in a
// subdirectory of a repository honours the repository's rules.
func (g *gitignore) loadParents(dir string) error {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			break
		}
		if filepath.Dir(d) == d {
			chain = chain[:1] // no repository: only dir's own .gitignore
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := g.load(chain[i]); err != nil {
			return err
		}
	}
	return nil
}

// ignored reports whether the last matching rule of the .gitignore files in
// path's ancestors excludes path; deeper files take precedence. Ancestor
// directories are not checked here: the walk never enters an ignored
// directory, as git never re-includes a file whose directory is excluded.
func (g *gitignore) ignored(path string, isDir bool) bool {
	if len(g.rules) == 0 {
		return false
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if rules, ok := g.rules[dir]; ok {
			rel, err := filepath.Rel(dir, path)
			if err == nil {
				rel = filepath.ToSlash(rel)
				for i := len(rules) - 1; i >= 0; i-- {
					if rules[i].match(rel, isDir) {
						return !rules[i].negate
					}
				}
			}
		}
		if filepath.Dir(dir) == dir {
			return false
		}
	}
}
