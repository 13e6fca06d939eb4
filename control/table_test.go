package control

import (
	"context"
	"encoding/json"
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
			if got := formatUptime(tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	st := Status{PID: 4121, Manifest: "/home/u/app/Procfile", Proxy: "127.0.0.1:8080", Instances: []Instance{
		{ID: "web.1", State: StateReady, PID: 4122, Port: 5000, Uptime: 192 * time.Second, Requests: 1520,
			Balancer: &Balancer{State: BalancerUp, LastCheckResult: "HTTP 200", LastCheckDuration: 3 * time.Millisecond}},
		{ID: "web.2", State: StateStopped, Port: 5001, Restarts: 1, LastExit: "signal: terminated",
			Balancer: &Balancer{State: BalancerDrained}},
		{ID: "worker.1", State: StateCrashLooping, Port: 5100, Restarts: 7, LastExit: "exit status 1"},
	}}
	var b strings.Builder
	if err := WriteTable(&b, st); err != nil {
		t.Fatal(err)
	}
	want := `devcluster pid 4121, proxy on http://127.0.0.1:8080, /home/u/app/Procfile
INSTANCE  STATE          PID   PORT  BALANCER     UPTIME  RESTARTS  RELOADS  REQUESTS  LAST EXIT           LAST CHECK
web.1     ready          4122  5000  in rotation  3m12s   0         0        1520      -                   HTTP 200 (3ms)
web.2     stopped        -     5001  drained      -       1         0        0         signal: terminated  -
worker.1  crash-looping  -     5100  -            -       7         0        0         exit status 1       -
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteTableNamesTheProxyURL: a proxy serving HTTPS is named by its
// https:// URL (it said http:// under up --https).
func TestWriteTableNamesTheProxyURL(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteTable(&b, Status{PID: 7, Proxy: "127.0.0.1:8443", ProxyURL: "https://127.0.0.1:8443", Manifest: "Procfile"}); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "devcluster pid 7, proxy on https://127.0.0.1:8443, Procfile" {
		t.Errorf("got %q, want the https:// URL", first)
	}
}

// TestWriteTableNamesStandbys: the warm standbys, one more process per
// instance, are named under the table.
func TestWriteTableNamesStandbys(t *testing.T) {
	t.Parallel()
	st := Status{PID: 1, Instances: []Instance{
		{ID: "web.1", State: StateReady, PID: 10, Port: 5000, StandbyPID: 20},
		{ID: "web.2", State: StateReady, PID: 11, Port: 5001},
		{ID: "web.3", State: StateReady, PID: 12, Port: 5002, StandbyPID: 22},
	}}
	var b strings.Builder
	if err := WriteTable(&b, st); err != nil {
		t.Fatal(err)
	}
	want := "\nwarm standbys, each the next start of its instance (reload.standby): web.1 pid 20, web.3 pid 22\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", b.String(), want)
	}
}

// TestWriteTableBalancerDown is the regression test for ps showing "ready" and
// nothing else while the proxy had taken the instance out of rotation: the
// balancer's state and the failed check's result are in the row.
func TestWriteTableBalancerDown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    *Balancer
		want string // the row's BALANCER ... LAST CHECK cells, joined by one space
	}{
		{"failed check", &Balancer{State: BalancerDown, LastCheckResult: "HTTP 500", LastCheckDuration: 2 * time.Millisecond, LastError: "GET /health: HTTP 500"},
			"DOWN HTTP 500 (2ms)"},
		{"failed check, no result recorded", &Balancer{State: BalancerDown, LastError: "GET /health: HTTP 500"},
			"DOWN GET /health: HTTP 500"},
		{"maintenance", &Balancer{State: BalancerMaint}, "maint -"},
		{"draining", &Balancer{State: BalancerDraining}, "draining -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			st := Status{Instances: []Instance{{ID: "web.1", State: StateReady, PID: 7, Port: 5000, Balancer: tt.b}}}
			if err := WriteTable(&b, st); err != nil {
				t.Fatal(err)
			}
			got := tableCell(t, b.String(), 1, "BALANCER") + " " + tableCell(t, b.String(), 1, "LAST CHECK")
			if got != tt.want {
				t.Errorf("got %q, want %q in\n%s", got, tt.want, b.String())
			}
		})
	}
}

// TestWriteTableReloadsApartFromCrashes is the regression test for ps counting
// planned reloads as crashes: RESTARTS went up and LAST EXIT said "signal:
// terminated" after every save. Reloads have their own column, and a planned
// stop says so.
func TestWriteTableReloadsApartFromCrashes(t *testing.T) {
	t.Parallel()
	st := Status{Instances: []Instance{
		{ID: "web.1", State: StateReady, PID: 7, Port: 5000, Reloads: 3, LastExit: "signal: terminated", LastExitPlanned: true},
		{ID: "web.2", State: StateReady, PID: 8, Port: 5001, Restarts: 1, Reloads: 3, LastExit: "signal: killed"},
	}}
	var b strings.Builder
	if err := WriteTable(&b, st); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		row          int
		column, want string
	}{
		{1, "RESTARTS", "0"},
		{1, "RELOADS", "3"},
		{1, "LAST EXIT", "planned stop (signal: terminated)"},
		{2, "RESTARTS", "1"},
		{2, "LAST EXIT", "signal: killed"},
	}
	for _, tt := range tests {
		if got := tableCell(t, b.String(), tt.row, tt.column); got != tt.want {
			t.Errorf("row %d %s: got %q, want %q in\n%s", tt.row, tt.column, got, tt.want, b.String())
		}
	}
}

// tableCell returns the cell of column in the row-th instance row (1-based) of
// a WriteTable output, found by the header's column offsets.
func tableCell(t *testing.T, table string, row int, column string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := lines[1]
	start := strings.Index(header, column)
	if start < 0 || row+1 >= len(lines) {
		t.Fatalf("no column %q or row %d in\n%s", column, row, table)
	}
	end := len(lines[row+1])
	if rest := strings.TrimLeft(header[start+len(column):], " "); rest != "" {
		end = len(header) - len(rest)
	}
	line := lines[row+1]
	return strings.TrimSpace(line[start:min(end, len(line))])
}

func TestBalancerJSON(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	in := Instance{ID: "web.1", State: StateReady, Balancer: &Balancer{State: BalancerDown, Since: t0,
		LastCheck: t0, LastCheckOK: false, LastCheckResult: "HTTP 500", LastCheckDuration: 1500 * time.Microsecond, LastError: "GET /health: HTTP 500"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"balancer":{"state":"down"`, `"in_rotation":false`, `"last_check_seconds":0.0015`, `"last_check_result":"HTTP 500"`, `"last_check_ok":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("got %s, want it to contain %s", b, want)
		}
	}
	var got Instance
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if *got.Balancer != *in.Balancer {
		t.Errorf("got %+v back, want %+v", *got.Balancer, *in.Balancer)
	}
	b, _ = json.Marshal(Instance{ID: "worker.1"})
	if !strings.Contains(string(b), `"balancer":null`) {
		t.Errorf("got %s for an unbalanced instance, want \"balancer\":null", b)
	}
}

func TestLogLineString(t *testing.T) {
	t.Parallel()
	if got, want := (LogLine{ID: "web.2", Text: "GET / 200"}).String(), "web.2 | GET / 200"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFindProjectThenDial is what `devcluster ps` does from a subdirectory of the
// project (it replaced the unused DialProject).
func TestFindProjectThenDial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: python3 app.py\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "src")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	dial := func() (*Client, error) {
		proj, err := FindProject(sub, "")
		if err != nil {
			return nil, err
		}
		if proj != dir {
			t.Errorf("got dir %s, want %s", proj, dir)
		}
		return Dial(SocketPath(proj))
	}
	if _, err := dial(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v before up, want ErrNotRunning", err)
	}
	serveFake(t, dir)
	c, err := dial()
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("Status: %v", err)
	}
}
