package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// shellWords are builtins and keywords: a command starting with one is left to sh,
// neither looked up on PATH nor prefixed with exec.
var shellWords = map[string]bool{
	":": true, ".": true, "[": true, "alias": true, "bg": true, "break": true, "cd": true,
	"command": true, "continue": true, "echo": true, "eval": true, "exec": true, "exit": true,
	"export": true, "false": true, "fg": true, "getopts": true, "hash": true, "jobs": true,
	"kill": true, "local": true, "printf": true, "pwd": true, "read": true, "readonly": true,
	"return": true, "set": true, "shift": true, "test": true, "times": true, "trap": true,
	"true": true, "type": true, "ulimit": true, "umask": true, "unalias": true, "unset": true,
	"wait": true, "if": true, "then": true, "else": true, "elif": true, "fi": true, "for": true,
	"while": true, "until": true, "do": true, "done": true, "case": true, "esac": true,
	"{": true, "}": true, "!": true, "source": true, "time": true,
}

// shellOperators make a command compound: it cannot simply be exec'd.
const shellOperators = ";&|<>()`\n\\"

// isAssignment reports whether w is a NAME=value prefix.
func isAssignment(w string) bool {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return false
	}
	for j, c := range w[:i] {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || j > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// firstProgram returns the program a command runs first, skipping NAME=value
// prefixes and a leading exec, or "" when sh decides (a builtin, a keyword, an
// expansion, a quoted word).
func firstProgram(command string) string {
	words := strings.Fields(command)
	for len(words) > 0 && (isAssignment(words[0]) || words[0] == "exec") {
		words = words[1:]
	}
	if len(words) == 0 {
		return ""
	}
	w := words[0]
	if shellWords[w] || strings.ContainsAny(w, "$'\"`*?[(){};&|<>\\") {
		return ""
	}
	return w
}

// simpleCommand reports whether command is one plain program invocation, which is
// what makes "exec COMMAND" safe: the program then replaces sh, becomes the group
// leader and inherits the Pdeathsig.
func simpleCommand(command string) bool {
	if strings.ContainsAny(command, shellOperators) || strings.Contains(command, "$(") {
		return false
	}
	words := strings.Fields(command)
	if len(words) == 0 || isAssignment(words[0]) {
		return false
	}
	return words[0] == "exec" || !shellWords[words[0]]
}

// CheckCommands checks, for every process, that the first program of its command
// exists: on the PATH of the spec's environment, or as a file relative to Dir when
// it contains a slash. Shell builtins, keywords and expansions are skipped (sh will
// judge them). A script whose #! line cannot start (see shebang.startProblem) is
// reported too. Every problem is reported, once per process.
func CheckCommands(specs []InstanceSpec) error {
	var errs []error
	seen := make(map[string]bool)
	for _, sp := range specs {
		if seen[sp.Process] {
			continue
		}
		seen[sp.Process] = true
		prog := firstProgram(sp.Command)
		path, ok := envValue(sp.Env, "PATH")
		if !ok {
			path = os.Getenv("PATH")
		}
		if prog == "" {
			continue
		}
		file, ok := locateProgram(prog, sp.Dir, path)
		if !ok {
			errs = append(errs, notFoundError(sp.ID, prog))
			continue
		}
		// A script whose #! line the kernel or its interpreter refuses would
		// only crash-loop (exit 127 or 2): said here, with its file:line.
		if sb, ok, _ := readShebang(file); ok {
			if strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
				sb.file = prog // as the manifest names it, relative to its directory
			}
			if why := sb.startProblem(path); why != "" {
				errs = append(errs, fmt.Errorf("start %s: %s", sp.ID, why))
			}
		}
	}
	return errors.Join(errs...)
}

func notFoundError(id, prog string) error {
	return fmt.Errorf("start %s: command %q not found (is it installed and on PATH?)", id, prog)
}

// locateProgram returns the file sh would run for prog: prog itself relative to
// dir when it has a slash, else the first executable of that name on path.
func locateProgram(prog, dir, path string) (string, bool) {
	if strings.Contains(prog, "/") {
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(dir, prog)
		}
		return prog, isExecutable(prog)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if p := filepath.Join(d, prog); isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// envValue returns the last value of key in env.
func envValue(env []string, key string) (string, bool) {
	v, found := "", false
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v, found = val, true
		}
	}
	return v, found
}
