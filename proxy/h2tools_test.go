package proxy

import (
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// HTTP/2 through the proxy's server loop with clients other than Go's: curl
// (nghttp2 inside) and h2load, the load generator of bench/proxy.sh MODE=h2.

// h2ToolProxy serves forwardedEcho over HTTPS and writes its CA to a file.
func h2ToolProxy(t *testing.T, cfg Config) (*testProxy, string) {
	t.Helper()
	ca := newTestCert(t)
	cfg.TLSConfig = ca.server
	tp := startProxy(t, cfg)
	b := startBackend(t, "web.1", forwardedEcho)
	tp.Enable("web.1", b.Addr)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tp, caFile
}

func TestH2Curl(t *testing.T) {
	t.Parallel()
	curl := tstest.NeedTool(t, "curl", tstest.InstallLine("curl"))
	tp, caFile := h2ToolProxy(t, Config{})
	_, port, _ := strings.Cut(tp.Addr, ":")
	url := "https://localhost:" + port + "/up"
	body := filepath.Join(t.TempDir(), "body")
	big := strings.Repeat("x", 2<<20) // 2 MiB: past the proxy's receive windows
	if err := os.WriteFile(body, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"get", nil, "len=0 body="},
		{"post", []string{"--data-binary", "@" + body}, "len=2097152 body=" + big},
		{"post of unknown length", []string{"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body}, "len=2097152 body=" + big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--http2", "--cacert", caFile, "--resolve", "localhost:" + port + ":127.0.0.1",
				"-sS", "--max-time", "20", "-w", "\n%{http_version} %{http_code}"}, tc.args...)
			out, err := exec.Command(curl, append(args, url)...).CombinedOutput()
			got := string(out)
			want := "proto=https port=" + port + " host=localhost:" + port + " " + tc.want + "\n2 200"
			if err != nil || got != want {
				t.Errorf("curl: %v; got %.120q…, want %.120q…", err, got, want)
			}
		})
	}
}

// TestH2Load: h2load's requests, -n bounded, all answered, each heard once.
func TestH2Load(t *testing.T) {
	t.Parallel()
	h2load := tstest.NeedTool(t, "h2load", "sudo apt-get install -y nghttp2-client")
	var heard atomic.Int64
	tp, _ := h2ToolProxy(t, Config{OnRequest: func(RequestInfo) { heard.Add(1) }})
	const n = 2000
	out, err := exec.Command(h2load, "-n", fmt.Sprint(n), "-c", "4", "-m", "10", "-t", "1", "https://"+tp.Addr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	for _, want := range []string{fmt.Sprintf("%d succeeded, 0 failed, 0 errored", n), fmt.Sprintf("status codes: %d 2xx", n), "Application protocol: h2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("h2load's summary lacks %q:\n%s", want, out)
		}
	}
	tstest.WaitFor(t, 5*time.Second, "every request reported", func() bool { return heard.Load() == n })
}
