package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestLoadLiveViewOnATerminal: on a terminal (a pty here) load prints a line a
// second while it runs; the receipt goes to stdout either way.
func TestLoadLiveViewOnATerminal(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Devcluster-Instance", "web.1")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer ptmx.Close()
	live := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, ptmx) // until the tty side is closed
		live <- b.String()
	}()
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"load", s.URL + "/", "-c", "2", "-d", "2500ms"}, strings.NewReader(""), &stdout, tty)
	tty.Close()
	got := <-live
	if code != 0 {
		t.Fatalf("exit %d; stdout %q; terminal %q", code, stdout.String(), got)
	}
	lines := regexp.MustCompile(`(?m)^ +[12]s +[0-9]+ req/s  [0-9]+ sent  0 failed  p50 \S+ p90 \S+ p99 \S+  web\.1 100%  200 ×[0-9]+\r?$`).FindAllString(got, -1)
	if len(lines) < 2 {
		t.Errorf("terminal: got %q, want a progress line for 1s and 2s", got)
	}
	if !strings.Contains(stdout.String(), "instances  web.1 ") || strings.Contains(stdout.String(), "req/s  ") {
		t.Errorf("stdout: got %q, want the receipt and no progress line", stdout.String())
	}
}

// TestLoadQuietWhenNotATerminal: no progress lines into a pipe or a file.
func TestLoadQuietWhenNotATerminal(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(s.Close)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"load", s.URL + "/", "-d", "1200ms"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: got %q, want nothing", stderr.String())
	}
	if !strings.Contains(stdout.String(), "failed     0") {
		t.Errorf("stdout: got %q, want the receipt", stdout.String())
	}
}
