package localca

// The leaf: issued for the names it must hold, kept while it names them all and is
// not due for renewal, reissued (keeping the names it already had) otherwise.

import (
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
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// ensureLeaf loads the leaf on disk, or issues a new one when there is none,
// it is due for renewal, another CA signed it, or it lacks a host. The caller
// holds the directory's lock.
func (ca *CA) ensureLeaf() (*tls.Certificate, error) {
	certPath, keyPath := filepath.Join(ca.dir, LeafFile), filepath.Join(ca.dir, LeafKeyFile)
	names := append(defaults.LeafNames(), ca.hosts...)
	reason := "none yet"
	if cert, _, key, err := readPair(certPath, keyPath); err == nil {
		missing := missingNames(cert, names)
		switch {
		case cert.CheckSignatureFrom(ca.cert) != nil:
			reason = "the one in " + certPath + " was signed by another CA"
		case !ca.now().Before(renewAt(cert)):
			reason = fmt.Sprintf("the one in %s expires on %s, within %d days", certPath,
				cert.NotAfter.Format(time.DateOnly), int(defaults.LeafRenewBefore.Hours()/24))
		case len(missing) > 0:
			reason = fmt.Sprintf("the one in %s does not name %v", certPath, missing)
			names = union(leafNames(cert), names)
		default:
			return ca.setLeaf(cert, key), nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		reason = err.Error()
	}
	cert, key, err := ca.issue(names)
	if err != nil {
		return nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, err
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), ca.certPEM...)
	if err := writeFileAtomic(certPath, chain, 0o644); err != nil {
		return nil, err
	}
	ca.logf("issued a new local certificate for %v (%s), valid until %s; it is renewed after %s",
		names, reason, cert.NotAfter.Format(time.DateOnly), renewAt(cert).Format(time.DateOnly))
	return ca.setLeaf(cert, key), nil
}

func (ca *CA) setLeaf(cert *x509.Certificate, key crypto.Signer) *tls.Certificate {
	leaf := &tls.Certificate{Certificate: [][]byte{cert.Raw, ca.cert.Raw}, PrivateKey: key, Leaf: cert}
	ca.mu.Lock()
	ca.leaf = leaf
	ca.mu.Unlock()
	return leaf
}

// issue signs a new leaf for names (DNS names and IP addresses).
func (ca *CA) issue(names []string) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the local certificate's key: %w", err)
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"devcluster local certificate"}, OrganizationalUnit: []string{userAndHost()}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(defaults.LeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign the local certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// leafNames lists the names a leaf holds, DNS names then IP addresses.
func leafNames(cert *x509.Certificate) []string {
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

func missingNames(cert *x509.Certificate, want []string) []string {
	have := leafNames(cert)
	var missing []string
	for _, n := range want {
		if !slices.Contains(have, n) {
			missing = append(missing, n)
		}
	}
	return missing
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
