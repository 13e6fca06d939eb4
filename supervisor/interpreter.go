package supervisor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/devcluster/devcluster/internal/termsafe"
)

// This file reads commands as the kernel and the Python interpreter will:
// which interpreter a command or a script's #! line runs, with which options,
// and whether a warm standby (standby.go, standby.py) can stand in for it.

// pythonName matches the interpreters whose command a standby can take over.
var pythonName = regexp.MustCompile(`^python(\d+(\.\d+)?)?$`)

// StandbyProblem says why sp's command cannot run from a warm standby, or ""
// when it can: it must be one plain invocation of a Python interpreter
// (python, python3, python3.11, by name or path) with a script or -m module,
// and no interpreter option but -u and -B; or of a Python console script (a
// file on PATH, or a path, whose #! line names such an interpreter: gunicorn,
// flask, ./manage.py). cmd reports it from check and at start.
func StandbyProblem(sp InstanceSpec) string {
	_, _, why := standbyTarget(sp)
	return why
}

// standbyTarget says how a standby runs sp's command: the interpreter to start
// and what follows standby.py and its descriptor (the command's own words after
// the interpreter, or the console script's path and the command's arguments),
// or why it cannot.
func standbyTarget(sp InstanceSpec) (interp, rest, problem string) {
	if !simpleCommand(sp.Command) {
		return "", "", "its command is not one plain program invocation (it uses shell operators, assignments or a builtin)"
	}
	c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sp.Command), "exec "))
	prog, args, _ := strings.Cut(c, " ")
	if prog == "" {
		return "", "", "its command is empty"
	}
	if strings.ContainsAny(prog, "'\"\\$`") {
		return "", "", fmt.Sprintf("its command runs %s, not a Python interpreter (python3 app.py, python3 -m flask run)", prog)
	}
	if pythonName.MatchString(filepath.Base(prog)) {
		if why := interpreterArgsProblem(strings.Fields(args)); why != "" {
			return "", "", why
		}
		return prog, args, ""
	}
	path, ok := envValue(sp.Env, "PATH")
	if !ok {
		path = os.Getenv("PATH")
	}
	file, ok := locateProgram(prog, sp.Dir, path)
	if !ok {
		return "", "", fmt.Sprintf("its command runs %s, which is not found", prog)
	}
	sb, ok, err := readShebang(file)
	switch {
	case err != nil:
		return "", "", fmt.Sprintf("its command runs %s, not a Python interpreter or a Python script (%v)", prog, err)
	case !ok:
		return "", "", fmt.Sprintf("its command runs %s, not a Python interpreter or a Python script (no #! line)", prog)
	}
	if why := sb.startProblem(path); why != "" {
		return "", "", fmt.Sprintf("its command runs %s, which cannot start: %s", prog, why)
	}
	interp, why := sb.python()
	if why != "" {
		return "", "", fmt.Sprintf("its command runs %s, not a Python interpreter or a Python script (%s)", prog, why)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	return interp, shellQuote(abs) + " " + args, ""
}

// interpreterArgsProblem checks what a command gives the interpreter: options
// it can apply once running (-u, -B), then a script or -m module. Its cases are
// testdata/interpreter_options.json, which standby.py's parse follows too.
func interpreterArgsProblem(words []string) string {
	for i, w := range words {
		switch {
		case w == "-m":
			if i+1 == len(words) {
				return "its command gives -m without a module"
			}
			return ""
		case strings.HasPrefix(w, "-m"):
			return ""
		case w == "-c":
			return "its command gives Python code with -c; use a script or -m module"
		case w == "-" || strings.HasPrefix(w, "--"):
			return fmt.Sprintf("the interpreter option %s cannot be applied to a running interpreter", w)
		case strings.HasPrefix(w, "-"):
			if why := optionWordProblem(w); why != "" {
				return "the interpreter option " + why
			}
		default:
			return ""
		}
	}
	return "its command names no script and no -m module"
}

// optionWordProblem says why one word of interpreter options (-u, -uB) is not
// one a running interpreter can take on, or "".
func optionWordProblem(w string) string {
	if !strings.HasPrefix(w, "-") || strings.HasPrefix(w, "--") || strings.Trim(w[1:], "uB") != "" || w == "-" {
		return w + " cannot be applied to a running interpreter (only -u and -B can)"
	}
	return ""
}

// shebang is a script's #! line as Linux's binfmt_script reads it: the
// interpreter, then everything after it, spaces and tabs trimmed at both ends,
// as ONE argument ("#!/usr/bin/env python3 -u" runs env with the argument
// "python3 -u"), or none.
type shebang struct {
	file   string
	line   string // the #! line as written, for messages
	interp string
	arg    string // "" when the line has none
}

// readShebang reads file's #! line from its first 256 bytes (the kernel's
// BINPRM_BUF_SIZE); ok is false when there is none.
func readShebang(file string) (sb shebang, ok bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return sb, false, err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return sb, false, nil
	}
	rest = strings.Trim(rest, " \t")
	interp := rest
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		interp = rest[:i]
	}
	if interp == "" {
		return sb, false, nil
	}
	return shebang{file: file, line: strings.TrimRight(line, " \t\r"), interp: interp,
		arg: strings.Trim(rest[len(interp):], " \t")}, true, nil
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// esc makes a part of a user's file safe to print (see termsafe).
func esc(s string) string { return termsafe.Escape(s) }

// startProblem says why exec of the script fails before any of its code runs
// (what up's instances would exit with, again and again), with the fix; "" when
// it starts or when it is not sure it does not. path is the PATH env searches.
func (sb shebang) startProblem(path string) string {
	at := esc(sb.file) + ":1: " + esc(sb.line) + ": "
	if filepath.IsAbs(sb.interp) && !isExecutable(sb.interp) {
		return at + fmt.Sprintf("its interpreter %s is not found (exit 127); fix the #! line or install it", esc(sb.interp))
	}
	switch base := filepath.Base(sb.interp); {
	case base == "env":
		first, _, split := strings.Cut(strings.Map(blankToSpace, sb.arg), " ")
		switch {
		case sb.arg == "" || strings.HasPrefix(sb.arg, "--split-string") ||
			(strings.HasPrefix(first, "-") && !strings.HasPrefix(first, "--") && strings.Contains(first, "S")):
			return ""
		case split && strings.HasPrefix(first, "-"):
			return at + fmt.Sprintf("Linux passes %q to %s as one argument, which env cannot take apart (exit 125); write \"#!%s -S %s\" (env -S splits it)",
				sb.arg, esc(sb.interp), esc(sb.interp), esc(sb.arg))
		case split:
			return at + fmt.Sprintf("Linux passes %q to %s as one argument, so env looks for a program named %q (exit 127); write \"#!%s -S %s\" (env -S splits it)",
				sb.arg, esc(sb.interp), sb.arg, esc(sb.interp), esc(sb.arg))
		case !strings.HasPrefix(first, "-"):
			if _, ok := locateProgram(first, "/", path); !ok {
				return at + fmt.Sprintf("env finds no %s on PATH (exit 127); install it or name another interpreter", esc(first))
			}
		}
	case pythonName.MatchString(base):
		if !strings.HasPrefix(sb.arg, "-") || strings.HasPrefix(sb.arg, "--") {
			return ""
		}
		for _, r := range sb.arg[1:] {
			switch {
			case strings.ContainsRune("cmWXQ", r):
				return "" // an option with a value: the rest is its value
			case isBlank(r):
				return at + fmt.Sprintf("Linux passes %q to %s as one argument, which Python refuses (\"Unknown option: - \", exit 2); write %s",
					sb.arg, esc(sb.interp), sb.pythonFix())
			}
		}
	}
	return ""
}

func blankToSpace(r rune) rune {
	if r == '\t' {
		return ' '
	}
	return r
}

// pythonFix is what to write instead of a Python #! line whose options are
// apart: one word of flags when they are all flags, and env -S in any case.
func (sb shebang) pythonFix() string {
	envS := fmt.Sprintf("\"#!/usr/bin/env -S %s %s\"", esc(filepath.Base(sb.interp)), esc(sb.arg))
	flags := ""
	for _, w := range strings.Fields(sb.arg) {
		if len(w) < 2 || w[0] != '-' || w[1] == '-' || strings.ContainsAny(w[1:], "cmWXQ") {
			return envS
		}
		flags += w[1:]
	}
	return fmt.Sprintf("\"#!%s -%s\" or %s", esc(sb.interp), esc(flags), envS)
}

// python returns the Python interpreter a standby runs for the script, quoted
// for sh, as exec would run it: the #! line's interpreter and its one argument
// ("'/usr/bin/python3' '-u'"), or for env the words env runs ("'python3'", and
// with -S the words it splits); otherwise why not.
func (sb shebang) python() (string, string) {
	var words []string
	if filepath.Base(sb.interp) == "env" {
		if sb.arg == "" {
			return "", "its #! line names no Python interpreter"
		}
		words = []string{sb.arg}
		if strings.HasPrefix(sb.arg, "-") {
			opt, rest, _ := strings.Cut(strings.Map(blankToSpace, sb.arg), " ")
			if opt != "-S" {
				return "", fmt.Sprintf("its #! line gives env the option %s", opt)
			}
			words = strings.Fields(rest)
		}
	} else {
		words = []string{sb.interp}
		if sb.arg != "" {
			words = append(words, sb.arg)
		}
	}
	if len(words) == 0 || !pythonName.MatchString(filepath.Base(words[0])) {
		return "", "its #! line names no Python interpreter"
	}
	for _, w := range words[1:] {
		if optionWordProblem(w) != "" {
			return "", fmt.Sprintf("its #! line gives the interpreter %s", w)
		}
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	return strings.Join(quoted, " "), ""
}

// standbyCommand is what sh -c runs for a standby of sp: the interpreter, then
// standby.py and the go descriptor, then the rest of the command as written (so
// that sh expands $PORT as it would have). sp's command must be one that
// StandbyProblem accepts.
func standbyCommand(sp InstanceSpec, script string, fd int) string {
	interp, rest, _ := standbyTarget(sp)
	return interp + " " + shellQuote(script) + " " + strconv.Itoa(fd) + " " + rest
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
