package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/control"
)

// statusOnly is a control.Cluster that answers Status; its other methods are
// never called by `devcluster dashboard`.
type statusOnly struct {
	control.Cluster
	st control.Status
}

func (s statusOnly) Status(context.Context) (control.Status, error) { return s.st, nil }

// serveStatus serves st on the control socket of a new project and returns its
// manifest's path.
func serveStatus(t *testing.T, st control.Status) string {
	t.Helper()
	dir := t.TempDir()
	manifest := filepath.Join(dir, "Procfile")
	if err := os.WriteFile(manifest, []byte("web: python3 -m http.server $PORT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := control.Listen(control.SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(statusOnly{st: st}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return manifest
}

func TestDashboardCommand(t *testing.T) {
	url := "http://127.0.0.1:8080/_devcluster/?token=00112233445566778899aabbccddeeff"
	with := serveStatus(t, control.Status{Dashboard: url})
	without := serveStatus(t, control.Status{})
	t.Setenv("PATH", t.TempDir()) // no xdg-open, no open
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}

	tests := []struct {
		name                string
		args                []string
		wantCode            int
		wantStdout, wantErr string
	}{
		{"url", []string{"dashboard", "-f", with}, 0, url + "\n", ""},
		{"json", []string{"dashboard", "-f", with, "--json"}, 0, "{\n  \"url\": \"" + url + "\"\n}\n", ""},
		{"open without an opener", []string{"dashboard", "-f", with, "--open"}, 0, url + "\n",
			"cannot open a browser: " + opener + " is not installed; open the URL above yourself\n"},
		{"no dashboard", []string{"dashboard", "-f", without}, 1, "", "Error: " + errNoDashboard.Error() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout || stderr.String() != tt.wantErr {
				t.Errorf("got %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantErr)
			}
		})
	}
}

// TestDashboardOpenKeepsTokenOutOfArgv: `dashboard --open` ran xdg-open with
// the token URL as its argument, and every user of the machine can read any
// process's argv (ps): with it another user posted a fault. The opener now
// gets the path of a page only the user can read (0600), which sends the
// browser on to the URL.
func TestDashboardOpenKeepsTokenOutOfArgv(t *testing.T) {
	token := "00112233445566778899aabbccddeeff"
	url := "http://127.0.0.1:8080/_devcluster/#token=" + token
	manifest := serveStatus(t, control.Status{Dashboard: url})
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	bin, out := t.TempDir(), t.TempDir()
	argv := filepath.Join(out, "argv")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + argv + "'\n"
	if err := os.WriteFile(filepath.Join(bin, opener), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"dashboard", "-f", manifest, "--open"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("dashboard --open: exit %d, stderr %q", code, stderr.String())
	}
	if stdout.String() != url+"\n" {
		t.Errorf("stdout: got %q, want the URL %q (the user's own terminal)", stdout.String(), url)
	}
	got, err := os.ReadFile(argv)
	if err != nil {
		t.Fatalf("the opener never ran: %v", err)
	}
	if strings.Contains(string(got), token) {
		t.Fatalf("%s's argv holds the token: %q", opener, got)
	}
	page := strings.TrimSpace(string(got))
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatalf("%s got %q, want the path of a page: %v", opener, page, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600 (it holds the token)", page, fi.Mode().Perm())
	}
	body, _ := os.ReadFile(page)
	if !strings.Contains(string(body), `content="0;url=`+url+`"`) {
		t.Errorf("%s: got %q, want a refresh to %s", page, body, url)
	}
}
