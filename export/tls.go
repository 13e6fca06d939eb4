package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/devcluster/devcluster/procfile"
)

// TLS is the manifest's HTTPS at the balancer (proxy.tls, https_listen,
// redirect_http), as every format writes it.
type TLS struct {
	// Cert and Key are the PEM files on this machine: the manifest's own
	// (tls: {cert, key}), or for tls: true the local CA's leaf, whose paths
	// cmd passes in (Options.TLSCert, TLSKey): export does not import localca.
	Cert, Key string
	LocalCA   bool // the certificate is the local CA's leaf
	// KeyInCert says the certificate file holds its key too, or the key is
	// CERT.key: HAProxy 2.x reads both from the certificate's name, nothing
	// else (crt-store and its "key" are HAProxy 3.0+).
	KeyInCert bool
	// Listen is where HTTPS is served: https_listen, else the proxy's listen
	// address itself; Separate says plain HTTP stays on the proxy's listen.
	Listen       string
	Host         string
	Port         int
	Separate     bool
	RedirectHTTP bool // the plain listener answers 308 to the HTTPS URL

	certPEM, keyPEM []byte
}

// HostRoute is one entry of proxy.hosts: requests whose Host (its port
// dropped) is Host go to Process, whatever their path; other requests are
// routed by path prefix as before.
type HostRoute struct {
	Host    string
	Process *Process
}

// The certificate's place inside the balancer's container (compose and
// swarm), with the key beside it under the name HAProxy 2.x looks for.
const (
	containerCert = "/run/secrets/devcluster-tls.pem"
	containerKey  = containerCert + ".key"
)

// haproxyPEM is the file the haproxy export writes when the key is neither in
// the certificate's file nor at CERT.key: HAProxy 2.x reads one file.
const haproxyPEM = "tls.pem"

// buildTLS reads the manifest's HTTPS settings into c, and the certificate's
// files, so that the exports can tell whether the key is apart and name the
// Swarm secrets by their content.
func (c *Cluster) buildTLS(m *procfile.Manifest, opts Options) error {
	pc := m.Proxy
	if !pc.TLS.On {
		return nil
	}
	t := &TLS{Cert: pc.TLS.Cert, Key: pc.TLS.Key, RedirectHTTP: pc.RedirectHTTP, Listen: c.Listen, Host: c.ListenHost, Port: c.ListenPort}
	if t.Cert == "" {
		t.Cert, t.Key, t.LocalCA = opts.TLSCert, opts.TLSKey, true
		if t.Cert == "" || t.Key == "" {
			return fmt.Errorf("export: %s: proxy.tls: true serves the local CA's leaf, and its files were not given (Options.TLSCert and TLSKey: devcluster export passes them); or write tls: {cert: FILE, key: FILE}", m.Path)
		}
	}
	var err error
	if t.Cert, err = filepath.Abs(t.Cert); err != nil {
		return err
	}
	if t.Key, err = filepath.Abs(t.Key); err != nil {
		return err
	}
	if t.certPEM, err = os.ReadFile(t.Cert); err != nil {
		return fmt.Errorf("export: read the certificate: %w", err)
	}
	if t.keyPEM, err = os.ReadFile(t.Key); err != nil {
		return fmt.Errorf("export: read the certificate's key: %w", err)
	}
	t.KeyInCert = filepath.Clean(t.Key) == filepath.Clean(t.Cert) || filepath.Clean(t.Key) == filepath.Clean(t.Cert)+".key"
	if pc.HTTPSListen != "" {
		if t.Host, t.Port, err = splitListen("proxy.https_listen", pc.HTTPSListen); err != nil {
			return err
		}
		t.Listen, t.Separate = pc.HTTPSListen, true
		if t.Listen == c.Listen {
			return fmt.Errorf("export: proxy.https_listen %s is the plain listen address too (--listen); choose another port", t.Listen)
		}
	}
	c.TLS = t
	return nil
}

// buildHosts resolves proxy.hosts to the processes (procfile checked that
// each is balanced).
func (c *Cluster) buildHosts(m *procfile.Manifest) {
	for _, h := range m.Proxy.Hosts {
		for _, p := range c.Processes {
			if p.Name == h.Process && p.Balanced {
				c.Hosts = append(c.Hosts, HostRoute{Host: h.Host, Process: p})
			}
		}
	}
}

// HostNames lists the hosts of proxy.hosts, in file order.
func (c *Cluster) HostNames() []string {
	var out []string
	for _, h := range c.Hosts {
		out = append(out, h.Host)
	}
	return out
}

// hostsOf lists the hosts that route to p.
func (c *Cluster) hostsOf(p *Process) []string {
	var out []string
	for _, h := range c.Hosts {
		if h.Process == p {
			out = append(out, h.Host)
		}
	}
	return out
}

// certSource says where the certificate comes from, for comments.
func (t *TLS) certSource() string {
	if t.LocalCA {
		return "the local CA's leaf (tls: true): trusted only where devcluster trust installed the CA; for a real host, write tls: {cert: FILE, key: FILE}"
	}
	return "the manifest's tls: {cert, key}"
}

// combinedPEM is the certificate chain then its key, for HAProxy, after the
// generated header (OpenSSL skips the lines before a PEM block; the header
// lets the next export replace the file).
func (c *Cluster) combinedPEM() []byte {
	t := c.TLS
	var b bytes.Buffer
	b.WriteString(c.header("#"))
	b.WriteString("# The certificate and its key, copied from " + oneLine(t.Cert) + " and " + oneLine(t.Key) + ".\n")
	b.Write(t.certPEM)
	if len(t.certPEM) > 0 && t.certPEM[len(t.certPEM)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.Write(t.keyPEM)
	return b.Bytes()
}

// contentName is a Swarm object's name for data: Swarm's secrets and
// configs cannot change, so a new certificate is a new name.
func (c *Cluster) contentName(what string, data []byte) string {
	sum := sha256.Sum256(data)
	return c.App + "-" + what + "-" + hex.EncodeToString(sum[:])[:12]
}

// relFromOut is path relative to the output directory, where compose.yaml
// and stack.yaml are (compose resolves their paths from there).
func (c *Cluster) relFromOut(path string) string {
	rel, err := filepath.Rel(firstNonEmpty(c.opts.OutDir, c.Dir), path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	if !filepath.IsAbs(rel) && rel[0] != '.' {
		rel = "./" + rel
	}
	return filepath.ToSlash(rel)
}

// tlsWarnings names what concerns every format's HTTPS.
func (c *Cluster) tlsWarnings(r *Result, format string) {
	if c.TLS == nil {
		return
	}
	if c.TLS.LocalCA {
		r.warn(format, "proxy.tls", "tls: true: the files name the local CA's leaf (%s), which only machines that ran devcluster trust accept; give a certificate of the host's own with tls: {cert: FILE, key: FILE}", c.TLS.Cert)
	}
}
