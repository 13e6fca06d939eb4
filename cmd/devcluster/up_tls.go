package main

import (
	"crypto/tls"
	"net"

	"github.com/devcluster/devcluster/localca"
	"github.com/devcluster/devcluster/procfile"
)

// proxyTLS is the proxy's TLS configuration for the manifest's proxy.tls
// (up --https sets it on): nil when off; the user's own certificate when
// tls: {cert, key} names one; else the local CA's leaf, the CA being created
// under localca.DefaultDir on first use (devcluster trust installs it).
func proxyTLS(m *procfile.Manifest, getenv func(string) string, logf func(format string, args ...any)) (*tls.Config, error) {
	t := m.Proxy.TLS
	if !t.On {
		return nil, nil
	}
	if t.Cert != "" {
		get, err := localca.LoadKeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, withHint(err, "fix proxy.tls in "+m.Path+", or write tls: true for the local CA")
		}
		return localca.ServerConfig(get), nil
	}
	dir, err := localca.DefaultDir(getenv)
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(m.Proxy.Hosts))
	for _, h := range m.Proxy.Hosts {
		hosts = append(hosts, h.Host)
	}
	ca, err := localca.Open(localca.Config{Dir: dir, Hosts: hosts, Logf: logf})
	if err != nil {
		return nil, withHint(err, "the local CA lives in "+dir+" (XDG_DATA_HOME or HOME decides where)")
	}
	return ca.TLSConfig(), nil
}

// proxyAddrs are the proxy's bound addresses as the start table and the
// dashboard name them.
type proxyAddrs struct {
	plain  string // plain HTTP; "" when TLS replaces it
	secure string // HTTPS; "" without TLS
	// redirect: plain answers only with redirects to secure.
	redirect bool
}

func addrsOf(m *procfile.Manifest, ln, tlsLn net.Listener) proxyAddrs {
	switch {
	case tlsLn != nil:
		return proxyAddrs{plain: ln.Addr().String(), secure: tlsLn.Addr().String(), redirect: m.Proxy.RedirectHTTP}
	case m.Proxy.TLS.On:
		return proxyAddrs{secure: ln.Addr().String()}
	}
	return proxyAddrs{plain: ln.Addr().String()}
}

// url is the URL clients reach the proxy at: HTTPS when it is served.
func (a proxyAddrs) url() string {
	if a.secure != "" {
		return "https://" + a.secure
	}
	return "http://" + a.plain
}

// dashboard is the address the dashboard's URL names (HTTPS when served),
// and the other one it also answers on.
func (a proxyAddrs) dashboard() (addr string, https bool, also []string) {
	if a.secure == "" {
		return a.plain, false, nil
	}
	if a.plain != "" && !a.redirect {
		also = []string{a.plain, "localhost:" + portOf(a.plain)}
	}
	return a.secure, true, also
}
