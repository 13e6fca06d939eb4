package localca

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/tstest"
)

// clock is an injectable time source a test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// caDir is a fresh CA directory under a private data home (t.TempDir is 0700).
func caDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), defaults.DataDirName)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestDefaultDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{env: map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/ana"}, want: "/data/devcluster"},
		{env: map[string]string{"HOME": "/home/ana"}, want: "/home/ana/.local/share/devcluster"},
		// The XDG rule: a relative XDG_DATA_HOME is invalid and ignored.
		{env: map[string]string{"XDG_DATA_HOME": "rel", "HOME": "/home/ana"}, want: "/home/ana/.local/share/devcluster"},
		{env: map[string]string{}, wantErr: "neither XDG_DATA_HOME nor HOME is set"},
	} {
		got, err := DefaultDir(func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DefaultDir(%v): got error %v, want one with %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DefaultDir(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}

// TestOpenCreatesOnceAndReuses: the first Open makes the CA and a leaf with
// private keys in a private directory; a second Open (another run of
// devcluster) uses the same CA and the same leaf, making nothing new.
func TestOpenCreatesOnceAndReuses(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	var log tstest.Buffer
	logf := func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) }
	ca, err := Open(Config{Dir: dir, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "created the local CA") {
		t.Errorf("first Open logged %q, want it to say it created the CA", log.String())
	}
	for path, want := range map[string]os.FileMode{
		dir: 0o700, filepath.Join(dir, CAKeyFile): 0o600, filepath.Join(dir, LeafKeyFile): 0o600,
		filepath.Join(dir, CAFile): 0o644, filepath.Join(dir, LeafFile): 0o644,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("mode of %s: got %04o, want %04o", path, got, want)
		}
	}
	if !ca.Certificate().IsCA || ca.CertPath() != filepath.Join(dir, CAFile) {
		t.Errorf("got CA IsCA=%v at %s, want a CA at %s", ca.Certificate().IsCA, ca.CertPath(), filepath.Join(dir, CAFile))
	}
	leaf1, _ := ca.Leaf()

	log.Reset()
	again, err := Open(Config{Dir: dir, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.Certificate().SerialNumber, ca.Certificate().SerialNumber; got.Cmp(want) != 0 {
		t.Errorf("second Open: CA serial %x, want the first one's %x", got, want)
	}
	leaf2, _ := again.Leaf()
	if leaf2.Leaf.SerialNumber.Cmp(leaf1.Leaf.SerialNumber) != 0 {
		t.Errorf("second Open: leaf serial %x, want the first one's %x", leaf2.Leaf.SerialNumber, leaf1.Leaf.SerialNumber)
	}
	if log.String() != "" {
		t.Errorf("second Open logged %q, want nothing (nothing was made)", log.String())
	}
}

// TestOpenAtOnceMakesOneCA: two devcluster processes starting together must not
// make two CAs (one of which the browser would not trust).
func TestOpenAtOnceMakesOneCA(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	const n = 4
	serials := make(chan string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ca, err := Open(Config{Dir: dir})
			if err != nil {
				errs <- err
				return
			}
			serials <- ca.Certificate().SerialNumber.String()
		})
	}
	wg.Wait()
	close(serials)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var got []string
	for s := range serials {
		got = append(got, s)
	}
	if len(slices.Compact(got)) != 1 {
		t.Errorf("got CA serials %v from %d concurrent Opens, want one CA", got, n)
	}
}

func TestOpenRefusesSharedDirectory(t *testing.T) {
	t.Parallel()
	t.Run("group-writable CA directory", func(t *testing.T) {
		t.Parallel()
		dir := caDir(t)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o770) // Mkdir's mode passes through the umask
		_, err := Open(Config{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") || !strings.Contains(err.Error(), "chmod go-w "+dir) {
			t.Fatalf("got %v, want a refusal naming the directory and chmod go-w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); err == nil {
			t.Errorf("a CA key was written into the refused directory")
		}
	})
	t.Run("world-writable parent", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		os.Chmod(parent, 0o777)
		_, err := Open(Config{Dir: filepath.Join(parent, defaults.DataDirName)})
		if err == nil || !strings.Contains(err.Error(), parent+" is writable by group or others") {
			t.Fatalf("got %v, want a refusal naming %s", err, parent)
		}
	})
	t.Run("sticky world-writable parent, as /tmp", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		os.Chmod(parent, 0o777|os.ModeSticky)
		if _, err := Open(Config{Dir: filepath.Join(parent, defaults.DataDirName)}); err != nil {
			t.Fatalf("got %v, want the CA made: the sticky bit keeps others from renaming it away", err)
		}
	})
}

func TestOpenRefusesReadableKey(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	if _, err := Open(Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, CAKeyFile)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+key) {
		t.Fatalf("got %v, want a refusal saying chmod 600 %s", err, key)
	}
}

// TestLeafNames: the leaf is valid, under the CA, for every loopback name and
// each host given; a name it does not hold fails.
func TestLeafNames(t *testing.T) {
	t.Parallel()
	ca, err := Open(Config{Dir: caDir(t), Hosts: []string{"api.example.test", "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ca.Leaf()
	want := []string{"localhost", "*.localhost", "api.example.test"}
	if !slices.Equal(leaf.Leaf.DNSNames, want) {
		t.Errorf("got DNS names %v, want %v", leaf.Leaf.DNSNames, want)
	}
	if got := fmt.Sprint(leaf.Leaf.IPAddresses); got != "[127.0.0.1 ::1]" {
		t.Errorf("got IP addresses %s, want [127.0.0.1 ::1]", got)
	}
	if !slices.Contains(leaf.Leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || leaf.Leaf.IsCA {
		t.Errorf("got ExtKeyUsage %v IsCA %v, want a server-auth leaf", leaf.Leaf.ExtKeyUsage, leaf.Leaf.IsCA)
	}
	for name, ok := range map[string]bool{
		"localhost": true, "app.localhost": true, "127.0.0.1": true, "::1": true, "api.example.test": true,
		"example.test": false, "a.b.localhost": false, "10.0.0.1": false,
	} {
		_, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()})
		if (err == nil) != ok {
			t.Errorf("Verify for %s: got %v, want valid=%v", name, err, ok)
		}
	}
}

// TestLeafGainsNewHost: another project's host is added to the leaf, keeping
// the names the first one needed, so two projects do not take turns.
func TestLeafGainsNewHost(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	if _, err := Open(Config{Dir: dir, Hosts: []string{"api.localhost"}}); err != nil {
		t.Fatal(err)
	}
	ca, err := Open(Config{Dir: dir, Hosts: []string{"shop.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ca.Leaf()
	for _, n := range []string{"api.localhost", "shop.localhost", "localhost"} {
		if !slices.Contains(leaf.Leaf.DNSNames, n) {
			t.Errorf("got DNS names %v, want %s among them", leaf.Leaf.DNSNames, n)
		}
	}
}

// TestLeafRenewedBeforeExpiry: up to defaults.LeafRenewBefore before its end
// the leaf is kept; from then on the next handshake gets a new one (and the
// log says why and until when), which the next run of devcluster reuses.
func TestLeafRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	var log tstest.Buffer
	ca, err := Open(Config{Dir: dir, Now: clk.Now, Logf: func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) }})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ca.GetCertificate(&tls.ClientHelloInfo{})
	due := ca.RenewAt()
	if want := first.Leaf.NotAfter.Add(-defaults.LeafRenewBefore); !due.Equal(want) {
		t.Fatalf("RenewAt %s, want %s", due, want)
	}

	clk.Set(due.Add(-time.Minute))
	log.Reset()
	kept, _ := ca.GetCertificate(&tls.ClientHelloInfo{})
	if kept != first || log.String() != "" {
		t.Fatalf("a minute before the renewal point: got a new leaf (log %q), want the first one kept", log.String())
	}

	clk.Set(due)
	renewed, err := ca.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatalf("at the renewal point: got the first leaf again, want a new one")
	}
	if !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Errorf("renewed leaf ends %s, want after the first one's %s", renewed.Leaf.NotAfter, first.Leaf.NotAfter)
	}
	if msg := log.String(); !strings.Contains(msg, "expires on "+first.Leaf.NotAfter.Format(time.DateOnly)) ||
		!strings.Contains(msg, "valid until "+renewed.Leaf.NotAfter.Format(time.DateOnly)) {
		t.Errorf("renewal logged %q, want why (expires on …) and until when", msg)
	}
	if _, err := renewed.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: ca.Pool(), CurrentTime: clk.Now()}); err != nil {
		t.Errorf("renewed leaf does not verify: %v", err)
	}

	next, err := Open(Config{Dir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := next.Leaf(); l.Leaf.SerialNumber.Cmp(renewed.Leaf.SerialNumber) != 0 {
		t.Errorf("next run: leaf serial %x, want the renewed one %x from disk", l.Leaf.SerialNumber, renewed.Leaf.SerialNumber)
	}
}

func TestOpenRefusesExpiredCA(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	if _, err := Open(Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(defaults.CAValidity + 24*time.Hour)
	_, err := Open(Config{Dir: dir, Now: func() time.Time { return later }})
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "devcluster trust") {
		t.Fatalf("got %v, want the CA's expiry and how to make a new one", err)
	}
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	ca, err := Open(Config{Dir: caDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ca.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 || !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) || cfg.SessionTicketsDisabled {
		t.Errorf("got MinVersion %x NextProtos %v tickets off %v; want TLS 1.2+, [h2 http/1.1], resumption on",
			cfg.MinVersion, cfg.NextProtos, cfg.SessionTicketsDisabled)
	}
	dir := ca.Dir()
	get, err := LoadKeyPair(filepath.Join(dir, LeafFile), filepath.Join(dir, LeafKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := get(nil); len(c.Certificate) != 2 {
		t.Errorf("own certificate file with its chain: got %d certificates, want 2", len(c.Certificate))
	}
	if _, err := LoadKeyPair(filepath.Join(dir, LeafFile), filepath.Join(dir, CAKeyFile)); err == nil ||
		!strings.Contains(err.Error(), CAKeyFile) {
		t.Errorf("mismatched key: got %v, want an error naming the files", err)
	}
}

// TestRenewalFailureKeepsServing: a renewal that cannot be written (here the
// lock file is a directory) does not fail handshakes while the current leaf is
// still valid; once it has expired, the error comes through.
func TestRenewalFailureKeepsServing(t *testing.T) {
	t.Parallel()
	dir := caDir(t)
	clk := &clock{now: time.Now()}
	var log tstest.Buffer
	ca, err := Open(Config{Dir: dir, Now: clk.Now, Logf: func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) }})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ca.Leaf()
	if err := os.Remove(filepath.Join(dir, lockFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, lockFile), 0o700); err != nil {
		t.Fatal(err)
	}
	clk.Set(ca.RenewAt())
	got, err := ca.GetCertificate(nil)
	if err != nil || got != first || !strings.Contains(log.String(), "could not renew the local certificate") {
		t.Fatalf("renewal failing while the leaf is valid: got %v, %v (log %q); want the current leaf and a logged reason", got, err, log.String())
	}
	clk.Set(first.Leaf.NotAfter.Add(time.Second))
	if _, err := ca.GetCertificate(nil); err == nil {
		t.Fatalf("renewal failing after the leaf expired: got no error, want the renewal's")
	}
}
