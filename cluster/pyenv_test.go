package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestPyenvBinDirResolvesAShim builds a fake pyenv shim that runs a real python3 and
// checks that the interpreter's own directory is found and put first on PATH.
func TestPyenvBinDirResolvesAShim(t *testing.T) {
	t.Parallel()
	real := tstest.NeedTool(t, "python3", tstest.InstallLine("python3"))
	// The real interpreter (python3 on PATH may itself be a shim) and its directory.
	out, err := exec.Command(real, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	real = strings.TrimSpace(string(out))
	want := filepath.Dir(real)

	shims := filepath.Join(t.TempDir(), "shims")
	if err := os.Mkdir(shims, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n# a pyenv shim\nexec \"" + real + "\" \"$@\"\n: pyenv exec\n"
	if err := os.WriteFile(filepath.Join(shims, "python3"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + shims + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV_") {
			env = append(env, kv)
		}
	}

	tests := []struct {
		name     string
		commands []string
		want     string
	}{
		{"flask command", []string{"python3 -m flask --app app run --no-reload"}, want},
		{"gunicorn command", []string{"gunicorn app:app"}, want},
		{"no python", []string{"exec sleep 10", "./server"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pyenvBinDir(context.Background(), t.TempDir(), env, tt.commands)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("not a shim", func(t *testing.T) {
		env := []string{"PATH=" + filepath.Dir(real)}
		if got := pyenvBinDir(context.Background(), t.TempDir(), env, []string{"python3 app.py"}); got != "" {
			t.Errorf("got %q for a real interpreter, want \"\"", got)
		}
	})
}

func TestWithPathFirst(t *testing.T) {
	t.Parallel()
	got := WithPathFirst([]string{"A=1", "PATH=/usr/bin:/bin"}, "/opt/py/bin")
	if got[1] != "PATH=/opt/py/bin:/usr/bin:/bin" || got[0] != "A=1" {
		t.Errorf("got %q, want PATH=/opt/py/bin:/usr/bin:/bin", got)
	}
	got = WithPathFirst([]string{"A=1"}, "/opt/py/bin")
	if got[len(got)-1] != "PATH=/opt/py/bin" {
		t.Errorf("got %q, want PATH added", got)
	}
}

// TestRunsPythonFromPath: the pyenv note (and the PATH change) was made for
// commands that never look python3 up on PATH, such as /usr/bin/python3 app.py,
// because any mention of "python" or "flask" counted.
func TestRunsPythonFromPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command string
		want    bool
	}{
		{"python3 app.py", true},
		{"python3.12 -m flask run --no-reload", true},
		{"exec gunicorn -b 127.0.0.1:$PORT app:app", true},
		{"FLASK_DEBUG=1 flask --app app run --no-reload --port $PORT", true},
		{"cd api && uvicorn main:app --port $PORT", true},
		{"./manage.py runserver --noreload 127.0.0.1:$PORT", true},
		{"sh -c 'python3 worker.py'", true},
		{"env -i PATH=/bin python app.py", true},
		{"/usr/bin/python3 app.py", false},
		{"/usr/bin/python3 -m flask --app app run --no-reload", false},
		{".venv/bin/gunicorn app:app", false},
		{"exec sleep 10", false},
		{"./server --name python", false},
		{"echo flask", false},
	}
	for _, tt := range tests {
		if got := runsPythonFromPath(tt.command); got != tt.want {
			t.Errorf("runsPythonFromPath(%q): got %v, want %v", tt.command, got, tt.want)
		}
	}
}
