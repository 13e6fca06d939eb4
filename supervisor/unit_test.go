package supervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

func TestShellScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command, want string
	}{
		{"flask --app app run --port $PORT", "exec flask --app app run --port $PORT"},
		{"exec gunicorn app:app", "exec gunicorn app:app"},
		{"cd app && flask run", "cd app && flask run"},
		{"python app.py > log", "python app.py > log"},
		{"FOO=1 python app.py", "FOO=1 python app.py"},
		{"echo $(date)", "echo $(date)"},
		{"while true; do sleep 1; done", "while true; do sleep 1; done"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			if got := shellScript(tt.command, false); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got, want := shellScript(tt.command, true), watchdogScript+tt.want; got != want {
				t.Errorf("with watchdog: got %q, want %q", got, want)
			}
		})
	}
}

func TestFirstProgram(t *testing.T) {
	t.Parallel()
	tests := []struct{ command, want string }{
		{"flask run", "flask"},
		{"FOO=1 BAR=2 python app.py", "python"},
		{"exec gunicorn app:app", "gunicorn"},
		{"./manage.py runserver", "./manage.py"},
		{"cd app && flask run", ""},
		{"$PYTHON app.py", ""},
		{"'/path with space/python' x", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		if got := firstProgram(tt.command); got != tt.want {
			t.Errorf("firstProgram(%q): got %q, want %q", tt.command, got, tt.want)
		}
	}
}

func TestCheckCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := func(id, command string) InstanceSpec {
		p, _, _ := strings.Cut(id, ".")
		return InstanceSpec{ID: id, Process: p, Index: 1, Command: command, Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}}
	}
	err := CheckCommands([]InstanceSpec{
		spec("web.1", "flsk --app app run"),
		spec("web.2", "flsk --app app run"), // same process: reported once
		spec("worker.1", "sh -c 'exit 0'"),
		spec("script.1", "./run.sh"),
		spec("missing.1", "./nope.sh"),
		spec("compound.1", "cd x && whatever"),
	})
	want := `start web.1: command "flsk" not found (is it installed and on PATH?)` + "\n" +
		`start missing.1: command "./nope.sh" not found (is it installed and on PATH?)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestNotFoundProgram(t *testing.T) {
	t.Parallel()
	tests := []struct{ line, want string }{
		{"sh: 1: flsk: not found", "flsk"},
		{"sh: 1: exec: flsk: not found", "flsk"},
		{"bash: line 1: flsk: command not found", "flsk"},
		{"Traceback (most recent call last):", ""},
	}
	for _, tt := range tests {
		if got := notFoundProgram([]LogLine{{Text: "earlier"}, {Text: tt.line}}); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestListenInodes(t *testing.T) {
	t.Parallel()
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0
   1: 0100007F:1389 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 333 1 0 100 0 0 10 0
`
	if got := listenInodes([]byte(table), 5001); !slices.Equal(got, []string{"111"}) {
		t.Errorf("port 5001: got %v, want [111]", got)
	}
	if got := listenInodes([]byte(table), 8080); !slices.Equal(got, []string{"333"}) {
		t.Errorf("port 8080: got %v, want [333]", got)
	}
	if got := listenInodes([]byte(table), 9); len(got) != 0 {
		t.Errorf("port 9: got %v, want none", got)
	}
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures int
		lo, hi   time.Duration
	}{
		{1, 400 * time.Millisecond, 500 * time.Millisecond},
		{2, 800 * time.Millisecond, time.Second},
		{5, 6400 * time.Millisecond, 8 * time.Second},
		{6, 8 * time.Second, 10 * time.Second},
		{100, 8 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			if got := defaultBackoff(tt.failures); got < tt.lo || got > tt.hi {
				t.Fatalf("defaultBackoff(%d): got %s, want within [%s, %s]", tt.failures, got, tt.lo, tt.hi)
			}
		}
	}
}

func TestFmtDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Millisecond, "1ms"}, {500 * time.Millisecond, "0.5s"}, {2 * time.Second, "2s"},
		{1500 * time.Millisecond, "1.5s"}, {10 * time.Second, "10s"},
	}
	for _, tt := range tests {
		if got := fmtDelay(tt.d); got != tt.want {
			t.Errorf("fmtDelay(%s): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestNewRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Specs: []InstanceSpec{
		{ID: "web.1", Process: "web", Index: 1, Command: "x"},
		{ID: "web.1", Process: "web", Index: 1, Command: "x"},
		{ID: "web.2", Process: "web", Index: 2},
		{ID: "web.3", Process: "web", Index: 3, Command: "x", Restart: "sometimes"},
	}})
	want := "instance web.1: defined twice\ninstance web.2: empty command\n" +
		`instance web.3: restart policy "sometimes": want always, on-failure or never`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestFollowDropsForSlowReader(t *testing.T) {
	t.Parallel()
	o := newOutput(io.Discard, io.Discard, false, time.Now, 10)
	sub := o.subscribe([]string{"web.1"})
	for i := range followBuffer + 5 {
		o.line("web.1", fmt.Sprint(i))
		o.line("web.2", "not followed")
	}
	for i := range followBuffer {
		if l := <-sub.ch; l.Text != fmt.Sprint(i) {
			t.Fatalf("line %d: got %q", i, l.Text)
		}
	}
	o.line("web.1", "after")
	if l := <-sub.ch; l.Text != "[devcluster: 5 lines dropped, reader too slow]" {
		t.Errorf("marker: got %q", l.Text)
	}
	if l := <-sub.ch; l.Text != "after" {
		t.Errorf("after the marker: got %q, want %q", l.Text, "after")
	}
	o.closeAll()
	if _, ok := <-sub.ch; ok {
		t.Error("channel still open after closeAll")
	}
}

func TestRingKeepsLatest(t *testing.T) {
	t.Parallel()
	r := &ring{size: 3}
	for i := range 7 {
		r.add(LogLine{Text: fmt.Sprint(i)})
	}
	var got []string
	for _, l := range r.lines() {
		got = append(got, l.Text)
	}
	if want := []string{"4", "5", "6"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCopyLines(t *testing.T) {
	t.Parallel()
	var got []string
	copyLines(strings.NewReader("a\r\nb\n\nlast"), func(s string) { got = append(got, s) })
	if want := []string{"a", "b", "", "last"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMethodsBeforeRun(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Specs: []InstanceSpec{{ID: "web.1", Process: "web", Index: 1, Command: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StopInstance(t.Context(), "web.1"); !errors.Is(err, errNotRunning) {
		t.Errorf("StopInstance before Run: got %v, want %v", err, errNotRunning)
	}
	if err := s.Reload(t.Context(), "web"); !errors.Is(err, errNotRunning) {
		t.Errorf("Reload before Run: got %v, want %v", err, errNotRunning)
	}
	if got := s.Status(); len(got) != 1 || got[0].State != StateStopped {
		t.Errorf("Status before Run: got %+v, want one stopped instance", got)
	}
}

// TestDefaultStopSignal: the default comes from internal/defaults as a name; a name
// the signal table does not know would leave StopSignal 0, which kill(2) treats as
// "check only" and no instance would ever be stopped by it.
func TestDefaultStopSignal(t *testing.T) {
	t.Parallel()
	if got := defaultStopSignal(); got != syscall.SIGTERM {
		t.Errorf("got %v, want SIGTERM", got)
	}
	sp, err := normalize(InstanceSpec{Process: "web", Index: 1, Command: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.StopSignal != syscall.SIGTERM || sp.StopTimeout != defaults.StopTimeout || sp.Restart != defaults.Restart {
		t.Errorf("got %v %v %q, want SIGTERM, %v, %q", sp.StopSignal, sp.StopTimeout, sp.Restart, defaults.StopTimeout, defaults.Restart)
	}
}

func TestStateNames(t *testing.T) {
	t.Parallel()
	want := []string{"waiting", "starting", "running", "ready", "draining", "stopping", "stopped", "down", "crash-looping"}
	if got := StateNames(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
