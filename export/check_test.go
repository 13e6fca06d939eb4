package export

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestComposeCheckRunsUnderSh runs the compose and swarm health check as
// Docker does (CMD-SHELL: /bin/sh -c) against a real server, once with bash
// and once with only python3 on PATH: healthy when the manifest's path
// answers 200, unhealthy when it answers 500 or nothing listens, whatever
// the path holds.
func TestComposeCheckRunsUnderSh(t *testing.T) {
	t.Parallel()
	python := needTool(t, "/usr/bin/python3", "python3")
	bash := needTool(t, "bash", "bash")
	path := "/it's$HOME;&`x`" // for the shell: quotes, a variable, a command
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var status atomic.Int32 // the server reads it, the test sets it
	status.Store(http.StatusOK)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(int(status.Load()))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	onlyPython := t.TempDir()
	if err := os.Symlink(python, filepath.Join(onlyPython, "python3")); err != nil {
		t.Fatal(err)
	}
	bashDir := t.TempDir()
	if err := os.Symlink(bash, filepath.Join(bashDir, "bash")); err != nil {
		t.Fatal(err)
	}
	check := func(p *Process, pathEnv string) error {
		h := composeCheck(p)
		if h.Test[0] != "CMD-SHELL" {
			t.Fatalf("test %q: want CMD-SHELL", h.Test)
		}
		cmd := exec.Command("/bin/sh", "-c", strings.ReplaceAll(h.Test[1], "$$", "$"))
		cmd.Env = []string{"PATH=" + pathEnv}
		done := make(chan error, 1)
		go func() { _, err := cmd.CombinedOutput(); done <- err }()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			return <-done
		}
	}
	for _, env := range []struct{ name, path string }{{"bash", bashDir + ":" + onlyPython}, {"python3", onlyPython}} {
		p := &Process{Port: port, Health: Health{Path: path, Interval: time.Second, Timeout: time.Second, Fall: 2}}
		status.Store(http.StatusOK)
		if err := check(p, env.path); err != nil {
			t.Errorf("%s: %q answering 200: unhealthy (%v)", env.name, path, err)
		}
		status.Store(http.StatusInternalServerError)
		if err := check(p, env.path); err == nil {
			t.Errorf("%s: %q answering 500: healthy", env.name, path)
		}
		status.Store(http.StatusOK)
		tcp := &Process{Port: port, Health: Health{Interval: time.Second, Timeout: time.Second, Fall: 2}}
		if err := check(tcp, env.path); err != nil {
			t.Errorf("%s: TCP check of a listening port: unhealthy (%v)", env.name, err)
		}
	}
}
