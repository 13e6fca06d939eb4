package regularfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadRefusesWhatIsNotRegular: a named pipe without a writer is refused
// at once (it used to block in open), a directory and a device by kind.
func TestReadRefusesWhatIsNotRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "Procfile")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, kind string
	}{
		{fifo, "a named pipe"},
		{dir, "a directory"},
		{"/dev/null", "a character device"},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() {
			_, err := Read(tt.path, 1<<20)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Read(%s) still blocked after 10s, want a refusal at once", tt.path)
		}
		var nr *NotRegularError
		if !errors.As(err, &nr) || nr.Kind() != tt.kind || nr.Path != tt.path {
			t.Errorf("Read(%s): got %v, want a NotRegularError for %s", tt.path, err, tt.kind)
		}
	}
}

func TestReadBounds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 11)), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := Read(path, 11); err != nil || len(data) != 11 {
		t.Errorf("at the bound: got %d bytes, %v; want all 11", len(data), err)
	}
	_, err := Read(path, 10)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Name != path || tl.Max != 10 {
		t.Errorf("over the bound: got %v, want a TooLargeError naming %s and 10", err, path)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: got %v, want os.ErrNotExist", err)
	}
}
