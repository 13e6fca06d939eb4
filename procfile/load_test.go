package procfile

import (
	"os"
	"testing"
)

// TestLoadNamesFilesAsGiven: errors in the manifest and in the .env next to it
// name both files as the user gave them, not as absolute paths.
func TestLoadNamesFilesAsGiven(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("app", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("app/Procfile", []byte("web: a\nworker:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load("app/Procfile")
	if want := `app/Procfile:2: missing command after "worker:"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := os.WriteFile("app/Procfile", []byte("web: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load("app/Procfile")
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != "app/Procfile" {
		t.Errorf("Path: got %q, want app/Procfile", m.Path)
	}
	if got := m.EnvFile(); got != "app/.env" {
		t.Errorf("EnvFile: got %q, want app/.env", got)
	}
	if err := os.WriteFile("app/.env", []byte("A=1\nB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadEnvFiles([]string{m.EnvFile()}, true)
	if want := `app/.env:2: missing "=" after B; write B=VALUE (or B= for an empty value)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
