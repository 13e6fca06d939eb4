package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/devcluster/devcluster/procfile"
)

// Ports of the TLS round trip (this branch's range, 22600-22999): web's two
// instances and api's one, then each balancer's plain, HTTPS and stats port.
const (
	tlsBase         = 22600 // web 22600, 22601; api 22700
	tlsHAProxyPlain = 22610
	tlsHAProxyHTTPS = 22611
	tlsHAProxyStats = 22612
	tlsNginxPlain   = 22620
	tlsNginxHTTPS   = 22621
)

// tlsManifest serves HTTPS on https_listen beside plain HTTP, which
// redirects, with api.localhost routed by host and /api by prefix.
func tlsManifest(dir, cert, key string) string {
	m := fmt.Sprintf(`processes:
  web:
    command: sleep 1000
    instances: 2
    health: /health
  api:
    command: sleep 1000
    proxy:
      prefix: /api
proxy:
  tls: {cert: %s, key: %s}
  https_listen: 127.0.0.1:%d
  redirect_http: true
  hosts:
    api.localhost: api
`, cert, key, tlsHAProxyHTTPS)
	path := filepath.Join(dir, "devcluster.yaml")
	if err := os.WriteFile(path, []byte(m), 0o644); err != nil {
		panic(err)
	}
	return path
}

// startEcho serves one instance on port: its answer names the instance and
// what the balancer told it (X-Forwarded-Proto, Host, the path).
func startEcho(t *testing.T, id string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", hostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("instance %s: %v", id, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s proto=%s host=%s path=%s", id, r.Header.Get("X-Forwarded-Proto"), r.Host, r.URL.RequestURI())
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// tlsClient trusts only the test's CA, sends every host to 127.0.0.1 (so
// api.localhost needs no resolver), speaks HTTP/2 when the server offers it,
// and follows no redirect.
func tlsClient(pool *x509.CertPool, maxVersion uint16) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{RootCAs: pool, MaxVersion: maxVersion},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return dialer.DialContext(ctx, network, hostPort("127.0.0.1", atoiOr(port)))
		},
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func atoiOr(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// TestTLSExportServesHTTPS runs the real HAProxy and the real nginx with the
// export of a manifest with tls: {cert, key}, https_listen, redirect_http and
// proxy.hosts, in front of three instances, with a certificate made by the
// test: over TLS 1.3 and 1.2 a client that trusts only the test's CA gets
// 200 from web, HTTP/2 negotiated by ALPN, the instance told
// X-Forwarded-Proto: https; api.localhost reaches api whatever the path,
// /api too; plain HTTP answers 308 to the same URL on the HTTPS port.
func TestTLSExportServesHTTPS(t *testing.T) {
	haproxy := needTool(t, "haproxy", "haproxy")
	nginx := needTool(t, "nginx", "nginx")
	for _, port := range []int{tlsBase, tlsBase + 1, tlsBase + 100, tlsHAProxyPlain, tlsHAProxyHTTPS, tlsHAProxyStats, tlsNginxPlain, tlsNginxHTTPS} {
		if !portFree(port) {
			t.Fatalf("port %d is in use; the TLS round trip needs it", port)
		}
	}
	certDir := t.TempDir()
	pool, cert, key := tstest.Certificate(t, certDir, "localhost", "api.localhost", "127.0.0.1")
	m, err := procfile.Load(tlsManifest(t.TempDir(), cert, key))
	if err != nil {
		t.Fatal(err)
	}
	startEcho(t, "web.1", tlsBase)
	startEcho(t, "web.2", tlsBase+1)
	startEcho(t, "api.1", tlsBase+100)
	opts := Options{BasePort: tlsBase, Invocation: "tls round trip"}

	t.Run("haproxy", func(t *testing.T) {
		dir := t.TempDir()
		opts := opts
		opts.OutDir = dir
		c := build(t, m, opts, hostPort("127.0.0.1", tlsHAProxyPlain), hostPort("127.0.0.1", tlsHAProxyStats))
		writeInto(t, dir, mustRender(t, c, "haproxy"))
		startDaemon(t, dir, tlsHAProxyPlain, haproxy, "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
		checkHTTPS(t, pool, tlsHAProxyPlain, tlsHAProxyHTTPS)
	})
	t.Run("nginx", func(t *testing.T) {
		mn := *m
		mn.Proxy.HTTPSListen = hostPort("127.0.0.1", tlsNginxHTTPS)
		dir := t.TempDir()
		c := build(t, &mn, opts, hostPort("127.0.0.1", tlsNginxPlain), "")
		writeInto(t, dir, mustRender(t, c, "nginx"))
		startDaemon(t, dir, tlsNginxPlain, nginx, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
		checkHTTPS(t, pool, tlsNginxPlain, tlsNginxHTTPS)
	})
}

// writeInto writes r's files into dir with their modes.
func writeInto(t *testing.T, dir string, r *Result) {
	t.Helper()
	for _, f := range r.Files {
		mode := os.FileMode(0o644)
		if f.Mode != 0 {
			mode = os.FileMode(f.Mode)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// checkHTTPS sends the requests TestTLSExportServesHTTPS describes.
func checkHTTPS(t *testing.T, pool *x509.CertPool, plain, https int) {
	t.Helper()
	tstest.WaitFor(t, 15*time.Second, fmt.Sprintf("HTTPS on %d", https), func() bool { return !portFree(https) })
	base := fmt.Sprintf("https://localhost:%d", https)
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS 1.3", tls.VersionTLS13}, {"TLS 1.2", tls.VersionTLS12}} {
		hc := tlsClient(pool, v.max)
		seen := map[string]bool{}
		for range 4 {
			resp, body := fetch(t, hc, base+"/hello?x=1")
			if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version != v.max {
				t.Fatalf("%s: GET /hello: %s %q, TLS %+v", v.name, resp.Status, body, resp.TLS)
			}
			if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" {
				t.Errorf("%s: protocol %s (ALPN %q), want HTTP/2 (h2)", v.name, resp.Proto, resp.TLS.NegotiatedProtocol)
			}
			if !strings.HasPrefix(body, "web.") || !strings.Contains(body, " proto=https ") || !strings.Contains(body, " path=/hello?x=1") {
				t.Errorf("%s: the instance answered %q, want web.N told proto=https and the path", v.name, body)
			}
			seen[strings.Fields(body)[0]] = true
		}
		if len(seen) != 2 {
			t.Errorf("%s: 4 requests reached %v, want both web instances", v.name, seen)
		}
		for _, u := range []string{fmt.Sprintf("https://api.localhost:%d/hello", https), base + "/api/users"} {
			if resp, body := fetch(t, hc, u); resp.StatusCode != 200 || !strings.HasPrefix(body, "api.1 proto=https") {
				t.Errorf("%s: GET %s: %s %q, want api.1", v.name, u, resp.Status, body)
			}
		}
	}
	hc := tlsClient(pool, 0)
	resp, body := fetch(t, hc, fmt.Sprintf("http://127.0.0.1:%d/cart?id=7", plain))
	want := fmt.Sprintf("https://127.0.0.1:%d/cart?id=7", https)
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain GET /cart?id=7: %s Location %q (%q), want 308 to %s", resp.Status, resp.Header.Get("Location"), body, want)
	}
}

func fetch(t *testing.T, hc *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(data)
}
