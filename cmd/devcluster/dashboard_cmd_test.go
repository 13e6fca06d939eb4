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
