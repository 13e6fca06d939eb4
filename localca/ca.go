// Package localca is devcluster's local certificate authority: a CA created once
// per user under the user's data directory, and the leaf certificate the proxy
// serves for localhost, 127.0.0.1, ::1, *.localhost and the manifest's host
// names, renewed before it expires. Installing the CA where browsers and tools
// look for it is trust.go's, and only ever done by `devcluster trust`.
//
// Files, in Dir (0700, refused when group or others may write it):
//
//	rootCA.pem          the CA certificate (what `devcluster trust --path` prints)
//	rootCA-key.pem      its key, 0600
//	localhost.pem       the leaf, with the CA after it (the chain a server sends)
//	localhost-key.pem   the leaf's key, 0600
//	.lock               held (flock) while a CA or a leaf is written, so two
//	                    devcluster processes starting at once make one CA
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// File names in the CA's directory.
const (
	CAFile      = "rootCA.pem"
	CAKeyFile   = "rootCA-key.pem"
	LeafFile    = "localhost.pem"
	LeafKeyFile = "localhost-key.pem"
	lockFile    = ".lock"
)

// Config says where the CA lives and what its leaf must name. The zero value
// of each field but Dir takes its default.
type Config struct {
	// Dir holds the CA's files; see DefaultDir.
	Dir string
	// Hosts are names the leaf must hold beside defaults.LeafNames (proxy.hosts'
	// names). A leaf on disk that lacks one is replaced by one with both sets.
	Hosts []string
	// Now is the clock (tests inject one to reach the renewal point); nil → time.Now.
	Now func() time.Time
	// Logf receives what the CA did that the user should know (a CA created, a
	// leaf renewed and why); nil → discard.
	Logf func(format string, args ...any)
}

// DefaultDir is where a user's CA lives: $XDG_DATA_HOME/devcluster, else
// $HOME/.local/share/devcluster (the XDG base directory rule; the same on
// macOS, where devcluster keeps to one place rather than ~/Library).
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, defaults.DataDirName), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("cannot find the local CA's directory: neither XDG_DATA_HOME nor HOME is set; set one of them")
	}
	return filepath.Join(home, ".local", "share", defaults.DataDirName), nil
}

// CA is the local CA, loaded or created by Open, and the leaf it signs. Its
// methods are safe for concurrent use: GetCertificate runs in every handshake.
type CA struct {
	dir   string
	hosts []string
	now   func() time.Time
	logf  func(string, ...any)

	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer

	mu   sync.Mutex // guards leaf
	leaf *tls.Certificate
}

// Open loads the CA in cfg.Dir, creating it (and the directory) the first time,
// and loads or issues its leaf. It refuses a directory or key that others could
// change or read, saying how to fix it.
func Open(cfg Config) (*CA, error) {
	if cfg.Dir == "" {
		return nil, errors.New("localca: no directory given")
	}
	ca := &CA{dir: cfg.Dir, now: cfg.Now, logf: cfg.Logf}
	if ca.now == nil {
		ca.now = time.Now
	}
	if ca.logf == nil {
		ca.logf = func(string, ...any) {}
	}
	for _, h := range cfg.Hosts {
		if !slices.Contains(defaults.LeafNames(), h) && !slices.Contains(ca.hosts, h) {
			ca.hosts = append(ca.hosts, h)
		}
	}
	if err := ca.prepareDir(); err != nil {
		return nil, err
	}
	unlock, err := ca.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := ca.loadOrCreateCA(); err != nil {
		return nil, err
	}
	if _, err := ca.ensureLeaf(); err != nil {
		return nil, err
	}
	return ca, nil
}

// Dir is the directory of the CA's files.
func (ca *CA) Dir() string { return ca.dir }

// CertPath is the CA certificate's file, what browsers and curl --cacert trust.
func (ca *CA) CertPath() string { return filepath.Join(ca.dir, CAFile) }

// Certificate is the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM is the CA certificate, PEM-encoded.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Pool is a pool holding only the CA, for Go clients (tests, probes).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Name is the CA's name as stores show it: its subject's common name, which
// holds the user and the host it was made for, and its serial number, so that
// two CAs (another user's, a CA made again) never share a name.
func (ca *CA) Name() string {
	return fmt.Sprintf("%s %s", ca.cert.Subject.CommonName, ca.cert.SerialNumber.Text(16))
}

// Leaf returns the leaf to serve, renewing it first when it expires within
// defaults.LeafRenewBefore (by the CA's clock).
func (ca *CA) Leaf() (*tls.Certificate, error) {
	ca.mu.Lock()
	leaf := ca.leaf
	ca.mu.Unlock()
	if leaf != nil && ca.now().Before(renewAt(leaf.Leaf)) {
		return leaf, nil
	}
	renewed, err := ca.renewLeaf()
	if err != nil && leaf != nil && ca.now().Before(leaf.Leaf.NotAfter) {
		// The old leaf is still valid: serve it rather than fail handshakes
		// over a full disk; the next handshake tries again.
		ca.logf("could not renew the local certificate (%v); serving the current one, valid until %s",
			err, leaf.Leaf.NotAfter.Format(time.DateOnly))
		return leaf, nil
	}
	return renewed, err
}

func (ca *CA) renewLeaf() (*tls.Certificate, error) {
	unlock, err := ca.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return ca.ensureLeaf()
}

// RenewAt is when the current leaf will be replaced: defaults.LeafRenewBefore
// before it expires. up prints it.
func (ca *CA) RenewAt() time.Time {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return renewAt(ca.leaf.Leaf)
}

// GetCertificate is tls.Config.GetCertificate: the leaf, renewed in the handshake
// that first finds it due, so a proxy that runs for months never serves an
// expired certificate. The check is one time comparison per handshake.
func (ca *CA) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return ca.Leaf()
}

// TLSConfig is the server configuration the proxy uses: the leaf through
// GetCertificate, TLS 1.2 and later, ALPN h2 then http/1.1 (defaults.ALPN).
// Session resumption (tickets, with keys Go rotates) is on, as Go's default;
// the cipher suites are Go's, which offers only AEAD suites with forward
// secrecy by default.
func (ca *CA) TLSConfig() *tls.Config {
	return ServerConfig(ca.GetCertificate)
}

// ServerConfig is the proxy's TLS settings around a certificate source: the
// local CA's GetCertificate, or a user's own certificate (LoadKeyPair).
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     defaults.ALPN(),
		GetCertificate: get,
	}
}

// LoadKeyPair reads a user's own certificate and key (proxy.tls.cert and key)
// for ServerConfig, saying which file is wrong when one is.
func LoadKeyPair(certFile, keyFile string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &pair, nil }, nil
}

func renewAt(leaf *x509.Certificate) time.Time {
	return leaf.NotAfter.Add(-defaults.LeafRenewBefore)
}

// prepareDir creates the directory 0700, or checks the one there: a CA key in a
// directory others can write is a CA others can replace, so it is refused
// rather than fixed behind the user's back.
func (ca *CA) prepareDir() error {
	if err := os.MkdirAll(filepath.Dir(ca.dir), 0o700); err != nil {
		return fmt.Errorf("create the local CA's directory: %w", err)
	}
	if err := os.Mkdir(ca.dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create the local CA's directory: %w", err)
	}
	if err := checkNotShared(ca.dir); err != nil {
		return err
	}
	// The parent too: whoever may write it may rename the CA's directory away
	// and put their own in its place (unless the sticky bit forbids that, as
	// on /tmp).
	return checkNotShared(filepath.Dir(ca.dir))
}

// checkNotShared refuses a directory that group or others may write, or that
// another user owns.
func checkNotShared(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check the local CA's directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the local CA's directory %s is not a directory; remove it or set XDG_DATA_HOME elsewhere", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("the local CA's directory %s belongs to user id %d, not to you (%d); "+
			"a CA must live in a directory only its user controls: set XDG_DATA_HOME to one of yours", dir, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("the local CA's directory %s is writable by group or others (mode %04o), "+
			"so anyone could replace the CA your browser trusts; fix it with: chmod go-w %s", dir, perm, dir)
	}
	return nil
}

// lock holds the directory's lock file (flock) until the returned func runs.
func (ca *CA) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(ca.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the local CA: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the local CA %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func (ca *CA) loadOrCreateCA() error {
	certPath, keyPath := ca.CertPath(), filepath.Join(ca.dir, CAKeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return ca.createCA()
	case errors.Is(certErr, fs.ErrNotExist) || errors.Is(keyErr, fs.ErrNotExist):
		return fmt.Errorf("the local CA in %s is incomplete (%s or %s is missing); "+
			"remove both, run devcluster trust --uninstall if it was installed, then devcluster trust to make a new one",
			ca.dir, CAFile, CAKeyFile)
	}
	cert, certPEM, key, err := readPair(certPath, keyPath)
	if err != nil {
		return err
	}
	if !cert.IsCA {
		return fmt.Errorf("%s is not a CA certificate; remove %s and %s to make a new CA", certPath, CAFile, CAKeyFile)
	}
	if now := ca.now(); now.After(cert.NotAfter) {
		return fmt.Errorf("the local CA %s expired on %s; run devcluster trust --uninstall, remove %s and %s, then devcluster trust",
			certPath, cert.NotAfter.Format(time.DateOnly), CAFile, CAKeyFile)
	}
	ca.cert, ca.certPEM, ca.key = cert, certPEM, key
	return nil
}

func (ca *CA) createCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate the local CA's key: %w", err)
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			Organization:       []string{"devcluster local CA"},
			OrganizationalUnit: []string{userAndHost()},
			CommonName:         "devcluster local CA " + userAndHost(),
		},
		NotBefore:             now.Add(-time.Hour), // a clock a little behind still accepts it
		NotAfter:              now.Add(defaults.CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves only
		// SubjectKeyId: Go derives it from the key for a CA.
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("create the local CA: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeKey(filepath.Join(ca.dir, CAKeyFile), key); err != nil {
		return err
	}
	if err := writeFileAtomic(ca.CertPath(), certPEM, 0o644); err != nil {
		return err
	}
	ca.cert, ca.certPEM, ca.key = cert, certPEM, key
	ca.logf("created the local CA %s (valid until %s); run devcluster trust to have browsers trust it",
		ca.CertPath(), cert.NotAfter.Format(time.DateOnly))
	return nil
}

// readPair reads a PEM certificate (the first of the file) and its PEM key,
// refusing a key file that group or others may read.
func readPair(certPath, keyPath string) (*x509.Certificate, []byte, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, nil, fmt.Errorf("%s holds no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read %s: %w", certPath, err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, nil, nil, fmt.Errorf("the key %s may be read by group or others (mode %04o); fix it with: chmod 600 %s",
			keyPath, perm, keyPath)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, nil, fmt.Errorf("%s holds no PEM key", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read %s: %w", keyPath, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%s: unsupported key type %T", keyPath, k)
	}
	return cert, pem.EncodeToMemory(block), signer, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode the key %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFileAtomic writes a temporary file with perm and renames it over path, so
// a reader never sees half a key and a key is never, even briefly, 0644.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		// crypto/rand does not fail on the systems Go supports (Go 1.24+
		// crashes the program instead); keep a valid serial anyway.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// userAndHost names the CA after who made it where ("ana@laptop"), as mkcert
// does, so a store listing many CAs says whose each one is.
func userAndHost() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
