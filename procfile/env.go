package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// EnvVar is one assignment of an env file. File is the file it came from,
// so that a later problem with the value can still point at its line.
type EnvVar struct {
	Key, Value string
	Line       int
	File       string
}

// ParseEnv parses a .env file as foreman, honcho and python-dotenv write
// them: KEY=VALUE lines, optionally prefixed by "export ", "#" comment lines
// and blank lines. Values may be
//
//   - unquoted: surrounding spaces and a trailing " # comment" are dropped;
//   - 'single quoted': taken literally;
//   - "double quoted": with the escapes \n \t \r \" \\ (and \$, \`).
//
// Quoted values must close on the same line. No variable is expanded: a
// value means the same whatever the environment devcluster runs in.
// Assignments are returned in file order; when a key repeats, the later one
// wins for whoever applies them in order. Every problem of the file is
// reported at once, as an ErrorList.
func ParseEnv(file string, r io.Reader) ([]EnvVar, error) {
	return parseEnv(file, r, nil)
}

// parseEnv is ParseEnv; with skipped, a line whose key is not a valid name
// is added there instead of to the errors, and the rest of the file is read.
func parseEnv(file string, r io.Reader, skipped *errorCollector) ([]EnvVar, error) {
	data, err := readBounded(file, r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	c := &errorCollector{file: file}
	var vars []EnvVar
	for i, line := range splitLines(data) {
		lineNo := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimLeft(rest, " \t")
		}
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimRight(key, " \t")
		if !ok {
			if validEnvKey(key) {
				c.addf(lineNo, "missing \"=\" after %s; write %s=VALUE (or %s= for an empty value)", key, key, key)
			} else {
				c.addf(lineNo, "expected KEY=VALUE, got %s", quoteShort(line))
			}
			continue
		}
		if key == "" {
			c.addf(lineNo, "missing variable name before \"=\"; write NAME=VALUE")
			continue
		}
		if !validEnvKey(key) {
			if skipped != nil {
				skipped.addf(lineNo, "skipped: invalid variable name %s (use letters, digits and \"_\", not starting with a digit); foreman and honcho skip such lines too", quoteShort(key))
				continue
			}
			c.addf(lineNo, "invalid variable name %s: use letters, digits and \"_\", not starting with a digit", quoteShort(key))
			continue
		}
		value, msg := parseEnvValue(raw)
		if msg != "" {
			c.addf(lineNo, "%s: %s", key, msg)
			continue
		}
		if msg := envProblem(key, value); msg != "" {
			c.addf(lineNo, "%s", msg)
			continue
		}
		vars = append(vars, EnvVar{Key: key, Value: value, Line: lineNo, File: file})
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return vars, nil
}

// parseEnvValue decodes what follows the "=" of an env line. It returns a
// non-empty message instead when the value is malformed.
func parseEnvValue(raw string) (value, msg string) {
	s := strings.TrimLeft(raw, " \t")
	if s == "" {
		return "", ""
	}
	switch s[0] {
	case '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "unterminated single quote; close it on the same line (values spanning lines are not supported)"
		}
		if msg := checkAfterQuote(s[end+2:]); msg != "" {
			return "", msg
		}
		return s[1 : end+1], ""
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			ch := s[i]
			switch {
			case ch == '"':
				if msg := checkAfterQuote(s[i+1:]); msg != "" {
					return "", msg
				}
				return b.String(), ""
			case ch == '\\' && i+1 < len(s):
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case '"', '\\', '$', '`':
					b.WriteByte(s[i])
				default: // unknown escape: kept as written, as python-dotenv does
					b.WriteByte('\\')
					b.WriteByte(s[i])
				}
			default:
				b.WriteByte(ch)
			}
		}
		return "", "unterminated double quote; close it on the same line (values spanning lines are not supported; write \\n for a newline)"
	}
	if len(s) < len(raw) && s[0] == '#' { // "KEY= # comment"
		return "", ""
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimRight(s, " \t"), ""
}

// checkAfterQuote accepts only blanks or a comment after a closing quote.
func checkAfterQuote(rest string) string {
	t := strings.TrimLeft(rest, " \t")
	if t == "" || (t[0] == '#' && len(t) < len(rest)) {
		return ""
	}
	return fmt.Sprintf("unexpected text %s after the closing quote; quote the whole value", quoteShort(t))
}

// validEnvKey reports whether s is a portable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func validEnvKey(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// LoadEnv is LoadEnvFiles as foreman and honcho read env files: a line whose
// key is not a valid variable name ("MY-VAR=1", "1X=2") is skipped, and
// returned among the warnings as "FILE:LINE: skipped: …", instead of
// refusing to start; every other problem is still an error. Warnings come
// only with a nil error.
func LoadEnv(paths []string, optional bool) (vars []EnvVar, warnings []string, err error) {
	skipped := &errorCollector{}
	vars, err = loadEnvFiles(paths, optional, skipped)
	if err != nil {
		return nil, nil, err
	}
	// In file order, then line order: each file's lines were added in order.
	for _, e := range skipped.errs {
		warnings = append(warnings, e.Error())
	}
	return vars, warnings, nil
}

// LoadEnvFiles reads the env files in order and returns all their
// assignments (a later file overrides an earlier one when applied in order).
// With optional, a file that does not exist is skipped: that is how the
// implicit .env next to the manifest is read, whereas a file named by -e
// must exist. Problems of all files are returned together as one ErrorList.
func LoadEnvFiles(paths []string, optional bool) ([]EnvVar, error) {
	return loadEnvFiles(paths, optional, nil)
}

func loadEnvFiles(paths []string, optional bool, skipped *errorCollector) ([]EnvVar, error) {
	var vars []EnvVar
	var all ErrorList
	for _, path := range paths {
		data, err := readFile(path)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("read env file: %w", err)
		}
		if skipped != nil {
			skipped.file = path
		}
		vs, err := parseEnv(path, bytes.NewReader(data), skipped)
		var list ErrorList
		switch {
		case errors.As(err, &list):
			all = append(all, list...)
		case err != nil:
			return nil, err
		}
		vars = append(vars, vs...)
	}
	if len(all) > 0 {
		return nil, all
	}
	return vars, nil
}
