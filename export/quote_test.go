package export

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/devcluster/devcluster/procfile"
)

func TestHAProxyQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/health", "/health"},
		{`/a b#c`, `/a\ b\#c`},
		{`/"x'y"`, `/\"x\'y\"`},
		{`/$HOME\`, `/$HOME\\`},
		{"/100%;{x}", "/100%;{x}"},
		{"", `""`},
	}
	for _, tt := range tests {
		got, err := haproxyQuote(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("haproxyQuote(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSystemdQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		dollar bool
		want   string
	}{
		{"a b", true, `"a b"`},
		{`say "hi" \o/`, true, `"say \"hi\" \\o/"`},
		{"100% $PORT", true, `"100%% $$PORT"`},
		{"100% $PORT", false, `"100%% $PORT"`},
		{"one\ntwo\tthree\r", false, `"one\ntwo\tthree\r"`},
		{"bell\x07", false, `"bell\x07"`},
	}
	for _, tt := range tests {
		if got := systemdQuote(tt.in, tt.dollar); got != tt.want {
			t.Errorf("systemdQuote(%q, %v) = %s, want %s", tt.in, tt.dollar, got, tt.want)
		}
	}
}

// TestControlCharacterIsRefused: a health path the manifest parser lets
// through with a control character cannot be written into a balancer's
// config line; the export fails and says why instead of writing a broken file.
func TestControlCharacterIsRefused(t *testing.T) {
	t.Parallel()
	manifest := plainWeb + "    health: \"/a\\x01b\"\n    proxy: {prefix: \"/p\\x1bq\"}\n"
	for _, format := range []string{"haproxy", "nginx", "compose"} { // compose writes haproxy.cfg
		_, err := exportYAML(t, manifest, format, Options{})
		if err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("%s: got %v, want an error about the control character", format, err)
		}
	}
	for _, format := range []string{"kubernetes", "systemd"} { // YAML and unit files escape it
		if _, err := exportYAML(t, manifest, format, Options{}); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
}

// TestHAProxyHealthPathArrivesExactly runs the real HAProxy with the quoting
// case's config: the check request it sends carries the manifest's health
// path byte for byte (quotes, $, %, #, ;, braces, a backslash), so the
// escaping neither broke the config nor changed the value.
func TestHAProxyHealthPathArrivesExactly(t *testing.T) {
	haproxy := needTool(t, "haproxy", "haproxy")
	const base, listen, stats = 23490, 23495, 23496
	m, err := procfile.Load("testdata/quoting/devcluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(m, Options{Formation: map[string]int{"web": 1, "root": 0}, BasePort: base,
		Listen: "127.0.0.1:" + itoa(listen), StatsListen: "127.0.0.1:" + itoa(stats)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", hostPort("127.0.0.1", base))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
			conn.Close()
			select {
			case lines <- strings.TrimRight(line, "\r\n"):
			default:
			}
		}
	}()
	dir := writeFiles(t, mustRender(t, c, "haproxy"))
	startDaemon(t, dir, listen, haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
	want := "GET " + m.Process("web").Health.Path + " HTTP/1.0"
	var got string
	tstest.WaitFor(t, 10*time.Second, "HAProxy's health check", func() bool {
		select {
		case got = <-lines:
			return true
		default:
			return false
		}
	})
	if got != want {
		t.Errorf("HAProxy checked with %q, want %q", got, want)
	}
}
