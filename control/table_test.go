package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatUptime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "-"},
		{-time.Second, "-"},
		{999 * time.Millisecond, "0s"}, // regression: a just-started instance showed "-" as if it were not running
		{42*time.Second + 600*time.Millisecond, "42s"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{2*time.Hour + 3*time.Minute + 59*time.Second, "2h03m"},
		{76 * time.Hour, "3d04h"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := FormatUptime(tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	st := Status{PID: 4121, Manifest: "/home/u/app/Procfile", Proxy: "127.0.0.1:8080", Instances: []Instance{
		{ID: "web.1", State: StateReady, PID: 4122, Port: 5000, Uptime: 192 * time.Second, Requests: 1520},
		{ID: "web.2", State: StateStopped, Port: 5001, Restarts: 1, LastExit: "signal: terminated"},
		{ID: "worker.1", State: StateCrashLooping, Port: 5100, Restarts: 7, LastExit: "exit status 1"},
	}}
	var b strings.Builder
	if err := WriteTable(&b, st); err != nil {
		t.Fatal(err)
	}
	want := `devcluster pid 4121, proxy on http://127.0.0.1:8080, /home/u/app/Procfile
INSTANCE  STATE          PID   PORT  UPTIME  RESTARTS  REQUESTS  LAST EXIT
web.1     ready          4122  5000  3m12s   0         1520      -
web.2     stopped        -     5001  -       1         0         signal: terminated
worker.1  crash-looping  -     5100  -       7         0         exit status 1
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLogLineString(t *testing.T) {
	t.Parallel()
	if got, want := (LogLine{ID: "web.2", Text: "GET / 200"}).String(), "web.2 | GET / 200"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDialProject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: python3 app.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "src")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := DialProject(sub, ""); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v before up, want ErrNotRunning", err)
	}
	serveFake(t, dir)
	c, err := DialProject(sub, "")
	if err != nil {
		t.Fatalf("DialProject: %v", err)
	}
	defer c.Close()
	if c.Dir() != dir {
		t.Errorf("got dir %s, want %s", c.Dir(), dir)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("Status: %v", err)
	}
}
