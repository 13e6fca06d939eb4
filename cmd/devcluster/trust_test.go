package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
	"github.com/devcluster/devcluster/localca"
)

// trustHome is a private user for trust's tests: its own HOME (so ~/.pki/nssdb
// is fresh), data directory (so the CA is new) and system tree (so the real
// /usr/local/share/ca-certificates and /etc/ssl/certs are never touched).
type trustHome struct {
	home, data, root string
}

func newTrustHome(t *testing.T) trustHome {
	t.Helper()
	base := t.TempDir()
	h := trustHome{home: filepath.Join(base, "home"), data: filepath.Join(base, "data"), root: filepath.Join(base, "root")}
	// The tree update-ca-certificates works in, as Debian's ca-certificates
	// package lays it out, empty.
	for _, d := range []string{h.home, "etc/ssl/certs", "usr/share/ca-certificates", "etc/ca-certificates/update.d"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(h.root, d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// One CA already there, as on any real system: update-ca-certificates
	// rebuilds the bundle only when some certificate is left in it.
	other, err := localca.Open(localca.Config{Dir: filepath.Join(base, "other-ca")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.root, "usr", "share", "ca-certificates", "other.crt"), other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.root, "etc", "ca-certificates.conf"), []byte("other.crt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h trustHome) environ() map[string]string {
	return map[string]string{"HOME": h.home, "XDG_DATA_HOME": h.data, "DEVCLUSTER_SYSTEM_ROOT": h.root}
}

// Environ is the process environment of a devcluster or browser run as h.
func (h trustHome) Environ() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, ours := h.environ()[k]
		return ours || k == "DEVCLUSTER_NSSDB"
	})
	for k, v := range h.environ() {
		env = append(env, k+"="+v)
	}
	return env
}

// trust runs devcluster trust ARGS in-process as h and returns its stdout.
func (h trustHome) trust(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	vars := h.environ()
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }, cwd: h.home}
	root := newRootCmd(e)
	root.SetArgs(append([]string{"trust"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.Execute(); err != nil {
		t.Fatalf("devcluster trust %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

func (h trustHome) ca(t *testing.T, hosts ...string) *localca.CA {
	t.Helper()
	ca, err := localca.Open(localca.Config{Dir: filepath.Join(h.data, "devcluster"), Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// nssHas reports whether the NSS database has the CA as a trusted issuer of
// server certificates (trust flags "C,,").
func nssHas(t *testing.T, db string, ca *localca.CA) bool {
	t.Helper()
	out, err := exec.Command("certutil", "-d", "sql:"+db, "-L").CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L -d %s: %v\n%s", db, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, ca.Name()) {
			if flags := strings.TrimSpace(strings.TrimPrefix(line, ca.Name())); flags != "C,," {
				t.Errorf("NSS database %s holds the CA with trust %q, want C,,", db, flags)
			}
			return true
		}
	}
	return false
}

// TestTrustInstallsAndUninstalls: devcluster trust puts the CA in the NSS
// database Chromium reads (created, as for a browser never run), in a Firefox
// profile's, and in the system store through the real update-ca-certificates
// (in a private tree); a second run changes nothing; --uninstall takes it all
// out again.
func TestTrustInstallsAndUninstalls(t *testing.T) {
	certutil := tstest.NeedTool(t, "certutil", "sudo apt-get install -y libnss3-tools")
	tstest.NeedTool(t, "update-ca-certificates", "sudo apt-get install -y ca-certificates")
	h := newTrustHome(t)
	firefox := filepath.Join(h.home, ".mozilla", "firefox", "abcd.default-release")
	if err := os.MkdirAll(firefox, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(certutil, "-d", "sql:"+firefox, "-N", "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("make a Firefox profile's database: %v\n%s", err, out)
	}
	ca := h.ca(t)
	chromium := filepath.Join(h.home, ".pki", "nssdb")
	sysFile := localca.Stores{SystemRoot: h.root}.SystemCertFile(ca)
	bundle := filepath.Join(h.root, "etc", "ssl", "certs", "ca-certificates.crt")
	link := filepath.Join(h.root, "etc", "ssl", "certs", strings.TrimSuffix(filepath.Base(sysFile), ".crt")+".pem")
	realFile := localca.Stores{}.SystemCertFile(ca)

	out := h.trust(t)
	for _, db := range []string{chromium, firefox} {
		if !nssHas(t, db, ca) {
			t.Errorf("after trust: NSS database %s lacks the CA %q\n%s", db, ca.Name(), out)
		}
	}
	if b, err := os.ReadFile(bundle); err != nil || !bytes.Contains(b, ca.CertPEM()) {
		t.Errorf("after trust: %s lacks the CA (%v)\n%s", bundle, err, out)
	}
	if target, err := os.Readlink(link); err != nil || target != sysFile {
		t.Errorf("after trust: %s -> %q (%v), want a link to %s", link, target, err, sysFile)
	}
	if _, err := os.Stat(realFile); err == nil {
		t.Errorf("the real system store got %s; trust must stay under DEVCLUSTER_SYSTEM_ROOT", realFile)
	}

	if again := h.trust(t); strings.Contains(again, "installed") {
		t.Errorf("second trust installed again, want each store found already done:\n%s", again)
	}

	out = h.trust(t, "--uninstall")
	for _, db := range []string{chromium, firefox} {
		if nssHas(t, db, ca) {
			t.Errorf("after --uninstall: NSS database %s still has the CA\n%s", db, out)
		}
	}
	if b, err := os.ReadFile(bundle); err != nil || bytes.Contains(b, ca.CertPEM()) {
		t.Errorf("after --uninstall: %s still has the CA (%v)\n%s", bundle, err, out)
	}
	for _, p := range []string{sysFile, link} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("after --uninstall: %s is still there", p)
		}
	}
}

// TestTrustMacOSPrintsCommands: on macOS nothing is run; the command is printed.
func TestTrustMacOSPrintsCommands(t *testing.T) {
	t.Parallel()
	h := newTrustHome(t)
	ca := h.ca(t)
	var out bytes.Buffer
	s := localca.Stores{GOOS: "darwin", System: true, NSSDBs: []string{"/nonexistent"}, Out: &out,
		Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
			t.Errorf("ran %s %v on macOS, want only a printed command", name, args)
			return nil, nil
		}}
	if err := s.Install(context.Background(), ca); err != nil {
		t.Fatal(err)
	}
	want := "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain " + ca.CertPath()
	if !strings.Contains(out.String(), want) {
		t.Errorf("got %q, want the line %q", out.String(), want)
	}
}

// serveTLS serves, with the local CA's TLS settings, a page that names the TLS
// version and HTTP protocol each request came with; it ends with the test.
func serveTLS(t *testing.T, ca *localca.CA, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig:         ca.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<title>devcluster tls</title><p id=v>%s %s", tls.VersionName(r.TLS.Version), r.Proto)
		}),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestTrustPathCurl: curl trusts the leaf with only the CA trust --path names
// (run as the shell would: curl --cacert "$(devcluster trust --path)"), over
// TLS 1.3, TLS 1.2 forced, and HTTP/2 by ALPN; for each loopback name; and not
// without the CA.
func TestTrustPathCurl(t *testing.T) {
	t.Parallel()
	tstest.NeedTool(t, "curl", "sudo apt-get install -y curl")
	h := newTrustHome(t)
	ca := h.ca(t, "api.localhost")
	port := serveTLS(t, ca, "127.0.0.1:0")
	port6 := serveTLS(t, ca, "[::1]:0")
	curl := func(args ...string) (string, error) {
		script := `curl --silent --show-error --max-time 20 --cacert "$(devcluster trust --path)" "$@"`
		cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
		cmd.Env = h.Environ()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http1.1", "https://127.0.0.1:" + port + "/"}, "TLS 1.3 HTTP/1.1"},
		{[]string{"--tlsv1.2", "--tls-max", "1.2", "--http1.1", "https://127.0.0.1:" + port + "/"}, "TLS 1.2 HTTP/1.1"},
		{[]string{"--http2", "https://127.0.0.1:" + port + "/"}, "TLS 1.3 HTTP/2.0"},
		{[]string{"--tlsv1.2", "--tls-max", "1.2", "--http2", "https://127.0.0.1:" + port + "/"}, "TLS 1.2 HTTP/2.0"},
		{[]string{"--http2", "https://localhost:" + port + "/"}, "TLS 1.3 HTTP/2.0"},
		{[]string{"--http2", "https://[::1]:" + port6 + "/"}, "TLS 1.3 HTTP/2.0"},
		{[]string{"--resolve", "api.localhost:" + port + ":127.0.0.1", "https://api.localhost:" + port + "/"}, "TLS 1.3 HTTP/2.0"},
	} {
		out, err := curl(tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("curl %s: got %q (%v), want a page saying %q", strings.Join(tc.args, " "), out, err, tc.want)
		}
	}

	// Without the CA, and for a name the leaf does not hold, curl refuses:
	// what makes the cases above pass is the CA and the names in the leaf.
	cmd := exec.Command("curl", "--silent", "--max-time", "20", "https://127.0.0.1:"+port+"/")
	cmd.Env = h.Environ()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("curl without --cacert: got %q, want a certificate error", out)
	}
	if out, err := curl("--resolve", "example.test:"+port+":127.0.0.1", "https://example.test:"+port+"/"); err == nil {
		t.Errorf("curl for example.test: got %q, want a name mismatch", out)
	}
}

// TestTrustChromium: a real headless Chromium, whose HOME is fresh so that its
// NSS database is the one devcluster trust made, loads an HTTPS page served
// with the leaf: no certificate error, no --ignore-certificate-errors. The same
// browser setup without trust gets ERR_CERT_AUTHORITY_INVALID, so it is the
// installed CA that makes the page load.
func TestTrustChromium(t *testing.T) {
	browser := browsertest.Chromium(t)
	tstest.NeedTool(t, "certutil", "sudo apt-get install -y libnss3-tools")
	h := newTrustHome(t)
	port := serveTLS(t, h.ca(t, "app.localhost"), "127.0.0.1:0")

	open := func(url string) (string, error) {
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(browser),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(t.TempDir()),
			chromedp.Env("HOME=" + h.home),
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		defer cancelAlloc()
		ctx, cancel := chromedp.NewContext(actx)
		defer cancel()
		ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
		defer cancelT()
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			return "", err
		}
		return chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#v")))
	}

	url := "https://localhost:" + port + "/"
	if text, err := open(url); err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Fatalf("before trust: got page %q (%v), want ERR_CERT_AUTHORITY_INVALID", text, err)
	}
	h.trust(t, "--no-system")
	for _, u := range []string{url, "https://127.0.0.1:" + port + "/", "https://app.localhost:" + port + "/"} {
		text, err := open(u)
		if err != nil || !strings.HasPrefix(text, "TLS 1.3 HTTP/2.0") {
			t.Errorf("after trust: %s gave %q (%v), want the page over TLS 1.3 and HTTP/2", u, text, err)
		}
	}
}

// TestTrustPathInstallsNothing: --path makes the CA if needed and prints its
// file, and touches no store.
func TestTrustPathInstallsNothing(t *testing.T) {
	t.Parallel()
	h := newTrustHome(t)
	got := h.trust(t, "--path")
	if want := filepath.Join(h.data, "devcluster", localca.CAFile) + "\n"; got != want {
		t.Errorf("trust --path printed %q, want %q", got, want)
	}
	for _, p := range []string{filepath.Join(h.home, ".pki"), filepath.Join(h.root, "usr", "local", "share", "ca-certificates")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("trust --path made %s; it must install nothing", p)
		}
	}
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, getenv: func(k string) string { return h.environ()[k] }, cwd: h.home}
	root := newRootCmd(e)
	root.SetArgs([]string{"trust", "--path", "--uninstall"})
	root.SetOut(&out)
	root.SetErr(&out)
	var u *usageError
	if err := root.Execute(); err == nil || !errors.As(err, &u) {
		t.Errorf("trust --path --uninstall: got %v, want a usage error", err)
	}
}
