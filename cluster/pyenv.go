package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devcluster/devcluster/procfile"
)

// pythonWords are programs whose pyenv shims are worth resolving: a shim is a bash
// script that runs "pyenv exec", which costs ~0.4 s per start on top of Python's own
// start-up — three times per rolling reload of three instances. A word matches
// when the program's name starts with it (python3, python3.12).
var pythonWords = []string{"python", "flask", "gunicorn", "uvicorn", "django-admin", "celery"}

// runsPythonFromPath reports whether command runs a Python program found on PATH,
// where a pyenv shim can be: a program in command position (first, after ;, &&, ||,
// |, exec, env, nohup or VAR=value, or inside sh -c '…') named like pythonWords,
// or a manage.py, whose "#!/usr/bin/env python3" looks python3 up on PATH. A
// program given by its path (/usr/bin/python3, .venv/bin/gunicorn) is no shim, and
// neither is flask in "/usr/bin/python3 -m flask".
func runsPythonFromPath(command string) bool {
	atCommand, afterDashC := true, false
	for _, t := range shellTokens(command) {
		if t.quoted && afterDashC && runsPythonFromPath(t.text) {
			return true
		}
		afterDashC = t.text == "-c"
		switch w := t.text; {
		case !t.quoted && (w == ";" || w == "&&" || w == "||" || w == "|" || w == "&" || w == "("):
			atCommand = true
		case !atCommand:
		case w == "exec" || w == "env" || w == "nohup" || w == "time" || w == "command" ||
			strings.HasPrefix(w, "-") || strings.Contains(w, "=") && !strings.HasPrefix(w, "="):
			// still before the program
		default:
			atCommand = false
			if filepath.Base(w) == "manage.py" {
				return true
			}
			if strings.Contains(w, "/") {
				continue
			}
			for _, p := range pythonWords {
				if strings.HasPrefix(w, p) {
					return true
				}
			}
		}
	}
	return false
}

type shellToken struct {
	text   string
	quoted bool // written in quotes: one word whatever it holds
}

// shellTokens splits a command as sh would for runsPythonFromPath's purpose:
// words at blanks, quotes grouping, and ;, &, |, ( as tokens of their own.
func shellTokens(s string) []shellToken {
	var out []shellToken
	var cur strings.Builder
	quoted, inWord := false, false
	flush := func() {
		if inWord {
			out = append(out, shellToken{cur.String(), quoted})
		}
		cur.Reset()
		quoted, inWord = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				end = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+end])
			quoted, inWord = true, true
			i += end + 1
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case strings.IndexByte(";&|(", c) >= 0:
			flush()
			op := string(c)
			if i+1 < len(s) && (c == '&' || c == '|') && s[i+1] == c {
				op += string(c)
				i++
			}
			out = append(out, shellToken{text: op})
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return out
}

// pyenvBinDir returns the directory of the real interpreter behind a pyenv shim, as
// "pyenv exec" would put first on PATH, when python3 on the PATH of env is such a shim
// and some command runs Python from PATH (runsPythonFromPath). It runs the shim once, in dir, so that a
// .python-version there is honoured. "" means: leave PATH alone.
func pyenvBinDir(ctx context.Context, dir string, env []string, commands []string) string {
	if !slices.ContainsFunc(commands, runsPythonFromPath) {
		return ""
	}
	shim := lookPathIn("python3", envValue(env, "PATH"))
	if shim == "" || !isPyenvShim(shim) {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shim, "-c", "import os, sys; print(os.path.dirname(sys.executable))")
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	bin := strings.TrimSpace(string(out))
	if bin == "" || filepath.Dir(shim) == bin {
		return ""
	}
	if fi, err := os.Stat(filepath.Join(bin, "python3")); err != nil || fi.IsDir() {
		return ""
	}
	return bin
}

// isPyenvShim reports whether path is a pyenv shim script (it execs "pyenv" exec).
func isPyenvShim(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, _ := f.Read(head)
	head = head[:n]
	return bytes.HasPrefix(head, []byte("#!")) && bytes.Contains(head, []byte("pyenv")) && bytes.Contains(head, []byte("exec"))
}

func lookPathIn(name, path string) string {
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// WithPathFirst returns env with dir put at the front of PATH.
func WithPathFirst(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + dir + string(filepath.ListSeparator) + v
			found = true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "PATH="+dir)
	}
	return out
}

// PyenvBin is the directory of the real interpreter when the manifest's
// commands run python3 (or flask, gunicorn, …) through a pyenv shim in env,
// "" otherwise: instances get it first on PATH, as "pyenv exec" does, which
// saves ~0.4 s per start.
func PyenvBin(m *procfile.Manifest, env []string) string {
	var commands []string
	for _, p := range m.Processes {
		commands = append(commands, p.Command)
	}
	return pyenvBinDir(context.Background(), m.Dir, env, commands)
}
