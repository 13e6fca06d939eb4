package supervisor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	interp, why := shebangPython(file)
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
// it can apply once running (-u, -B), then a script or -m module.
func interpreterArgsProblem(words []string) string {
	for _, w := range words {
		switch {
		case w == "-m" || (strings.HasPrefix(w, "-m") && len(w) > 2):
			return ""
		case w == "-c":
			return "its command gives Python code with -c; use a script or -m module"
		case w == "-" || strings.HasPrefix(w, "--"):
			return fmt.Sprintf("the interpreter option %s cannot be applied to a running interpreter", w)
		case strings.HasPrefix(w, "-"):
			if strings.Trim(w[1:], "uB") != "" {
				return fmt.Sprintf("the interpreter option %s cannot be applied to a running interpreter (only -u and -B can)", w)
			}
		default:
			return ""
		}
	}
	return "its command names no script and no -m module"
}

// shebangPython reads file's #! line and returns the Python interpreter it
// names, quoted for sh: "#!/usr/bin/python3", "#!/usr/bin/env python3", and
// those with -u or -B; otherwise why not.
func shebangPython(file string) (string, string) {
	f, err := os.Open(file)
	if err != nil {
		return "", err.Error()
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return "", "no #! line"
	}
	words := strings.Fields(rest)
	if len(words) > 0 && filepath.Base(words[0]) == "env" {
		words = words[1:]
	}
	if len(words) == 0 || !pythonName.MatchString(filepath.Base(words[0])) {
		return "", "its #! line names no Python interpreter"
	}
	for _, w := range words[1:] {
		if !strings.HasPrefix(w, "-") || strings.Trim(w[1:], "uB") != "" {
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
