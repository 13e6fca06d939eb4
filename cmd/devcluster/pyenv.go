package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pythonWords are programs whose pyenv shims are worth resolving: a shim is a bash
// script that runs "pyenv exec", which costs ~0.4 s per start on top of Python's own
// start-up — three times per rolling reload of three instances.
var pythonWords = []string{"python", "flask", "gunicorn", "uvicorn", "django-admin", "celery", "manage.py"}

// pyenvBinDir returns the directory of the real interpreter behind a pyenv shim, as
// "pyenv exec" would put first on PATH, when python3 on the PATH of env is such a shim
// and some command runs Python. It runs the shim once, in dir, so that a
// .python-version there is honoured. "" means: leave PATH alone.
func pyenvBinDir(ctx context.Context, dir string, env []string, commands []string) string {
	usesPython := false
	for _, c := range commands {
		for _, w := range pythonWords {
			if strings.Contains(c, w) {
				usesPython = true
			}
		}
	}
	if !usesPython {
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

// withPathFirst returns env with dir put at the front of PATH.
func withPathFirst(env []string, dir string) []string {
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
