package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDetectSkipsSpecialFiles: init read every candidate file with
// os.ReadFile, so a named pipe called app.py (or a requirements file, or any
// .py in the tree) blocked it forever.
func TestDetectSkipsSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := layout(t, map[string]string{
		"wsgi.py":          flaskApp,
		"requirements.txt": "flask\ngunicorn\n",
		"pkg/__init__.py":  "",
	})
	for _, name := range []string{"manage.py", "app.py", ".env", ".flaskenv", "requirements-dev.txt", "pkg/views.py"} {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("# padding\n", 110000) + "gunicorn\n" // over 1 MiB
	if err := os.WriteFile(filepath.Join(dir, "requirements-big.txt"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		p   *Project
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := Detect(dir)
		done <- result{p, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Detect still running after 10s, want it to skip the named pipes")
	}
	if r.err != nil {
		t.Fatalf("got error %v, want the Flask app in wsgi.py", r.err)
	}
	if r.p.Kind != KindFlask || r.p.AppModule != "wsgi" || !r.p.Gunicorn || r.p.HealthPath != "/health" {
		t.Errorf("got kind %q module %q gunicorn %v health %q, want flask wsgi true /health", r.p.Kind, r.p.AppModule, r.p.Gunicorn, r.p.HealthPath)
	}
	if want := "gunicorn listed in requirements.txt"; !strings.Contains(strings.Join(r.p.Found, "\n"), want) {
		t.Errorf("found: got %q, want %q", r.p.Found, want)
	}
}
