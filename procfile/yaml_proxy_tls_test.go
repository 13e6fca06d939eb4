package procfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate and its key as cert.pem and
// key.pem in dir, and a second key (other-key.pem) that does not match.
func writePair(t *testing.T, dir string) {
	t.Helper()
	var keys []*ecdsa.PrivateKey
	for range 2 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, keys[0].Public(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", "CERTIFICATE", der)
	for i, name := range []string{"key.pem", "other-key.pem"} {
		b, _ := x509.MarshalPKCS8PrivateKey(keys[i])
		write(name, "PRIVATE KEY", b)
	}
}

// parseHTTPS parses, as dir/devcluster.yaml, a manifest whose proxy: section
// (line 1) holds proxy (its first line on line 2), with a balanced web and
// api and an unbalanced worker.
func parseHTTPS(dir, proxy string) (*Manifest, error) {
	input := "proxy:\n  " + strings.ReplaceAll(strings.TrimSuffix(proxy, "\n"), "\n", "\n  ") +
		"\nprocesses:\n  web: a\n  api:\n    command: b\n    proxy: true\n  worker: c\n"
	return ParseYAML(filepath.Join(dir, "devcluster.yaml"), strings.NewReader(input))
}

func TestParseYAMLProxyHTTPS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writePair(t, dir)
	tests := []struct {
		name, proxy string
		want        ProxyConfig
	}{
		{"tls true", "tls: true", ProxyConfig{TLS: TLS{On: true, Line: 2}}},
		{"tls false", "tls: false", ProxyConfig{TLS: TLS{Line: 2}}},
		{"own certificate", "tls:\n  cert: cert.pem\n  key: " + filepath.Join(dir, "key.pem"),
			ProxyConfig{TLS: TLS{On: true, Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), Line: 3}}},
		{"https_listen turns TLS on", "https_listen: 127.0.0.1:8443",
			ProxyConfig{TLS: TLS{On: true, Line: 2}, HTTPSListen: "127.0.0.1:8443"}},
		{"https_listen with redirect", "tls: true\nhttps_listen: 127.0.0.1:8443\nredirect_http: true",
			ProxyConfig{TLS: TLS{On: true, Line: 2}, HTTPSListen: "127.0.0.1:8443", RedirectHTTP: true}},
		{"hosts, lower-cased, in file order", "hosts:\n  App.Localhost: web\n  api.localhost: api\n  localhost: web",
			ProxyConfig{Hosts: []HostRoute{{"app.localhost", "web", 3}, {"api.localhost", "api", 4}, {"localhost", "web", 5}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := parseHTTPS(dir, tt.proxy)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			tt.want.Line = 1
			if !reflect.DeepEqual(m.Proxy, tt.want) {
				t.Errorf("got %+v, want %+v", m.Proxy, tt.want)
			}
			// Both are served: no manifest says that the proxy does not serve them yet.
			if w := strings.Join(m.Warnings, "\n"); strings.Contains(w, "yet") {
				t.Errorf("got warnings %q; want no not-served-yet warning (HTTPS and host routes are served)", w)
			}
		})
	}
	m, err := parseHTTPS(dir, "hosts:\n  shop.test: web")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(m.Warnings, "\n"); !strings.Contains(w, "devcluster.yaml:3: proxy.hosts: shop.test does not end in .localhost") ||
		!strings.Contains(w, `"127.0.0.1 shop.test" to /etc/hosts`) {
		t.Errorf("got warnings %q, want one for shop.test with the /etc/hosts line", w)
	}
	if got := m.Proxy.HostNames(); !reflect.DeepEqual(got, []string{"shop.test"}) {
		t.Errorf("HostNames() = %v, want [shop.test]", got)
	}
}

func TestParseYAMLProxyHTTPSErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writePair(t, dir)
	tests := []struct {
		name, proxy, want string // want: "LINE: message part"
	}{
		{"tls not a bool", "tls: yes please", `2: proxy.tls must be true, false, or a mapping {cert: FILE, key: FILE}`},
		{"tls unknown key", "tls:\n  crt: cert.pem", `3: unknown key "crt" in proxy.tls (did you mean "cert"?)`},
		{"tls empty mapping", "tls: {}", `2: proxy.tls is an empty mapping`},
		{"cert without key", "tls:\n  cert: cert.pem", `3: proxy.tls.cert without proxy.tls.key`},
		{"key without cert", "tls:\n  key: key.pem", `3: proxy.tls.key without proxy.tls.cert`},
		{"cert file missing", "tls:\n  cert: nope.pem\n  key: key.pem", `3: proxy.tls.cert: no file ` + filepath.Join(dir, "nope.pem")},
		{"key file missing", "tls:\n  cert: cert.pem\n  key: nokey.pem", `4: proxy.tls.key: no file ` + filepath.Join(dir, "nokey.pem")},
		{"cert is a directory", "tls:\n  cert: .\n  key: key.pem", `3: proxy.tls.cert: ` + dir + ` is a directory`},
		{"key of another certificate", "tls:\n  cert: cert.pem\n  key: other-key.pem",
			`3: proxy.tls: "cert.pem" and "other-key.pem" are not a certificate and its key`},
		{"key given as the certificate", "tls:\n  cert: key.pem\n  key: key.pem", `3: proxy.tls: "key.pem" and "key.pem" are not a certificate and its key`},
		{"https_listen not an address", "https_listen: 8443", `2: proxy.https_listen "8443" is not HOST:PORT; write it like "127.0.0.1:8443"`},
		{"https_listen same as listen", "listen: 127.0.0.1:9000\nhttps_listen: 127.0.0.1:9000", `3: proxy.https_listen 127.0.0.1:9000 is the plain listen address too`},
		{"https_listen same as the default listen", "https_listen: 127.0.0.1:8080", `2: proxy.https_listen 127.0.0.1:8080 is the plain listen address too`},
		{"https_listen with tls false", "tls: false\nhttps_listen: 127.0.0.1:8443", `2: proxy.tls: false, but proxy.https_listen 127.0.0.1:8443 asks for HTTPS`},
		{"redirect without https_listen", "tls: true\nredirect_http: true", `1: proxy.redirect_http needs proxy.https_listen`},
		{"redirect not a bool", "redirect_http: 308", `2: proxy.redirect_http must be true or false, got "308"`},
		{"hosts not a mapping", "hosts: [api.localhost]", `2: proxy.hosts must be a mapping of host names to processes`},
		{"host of an unknown process", "hosts:\n  api.localhost: apj", `3: proxy.hosts: api.localhost routes to unknown process "apj" (did you mean "api"?)`},
		{"host of an unbalanced process", "hosts:\n  jobs.localhost: worker", `3: proxy.hosts: jobs.localhost routes to worker, which the proxy does not balance; give it proxy: true under processes.worker`},
		{"host with a port", "hosts:\n  api.localhost:8080: api", `3: proxy.hosts: "api.localhost:8080" has a port`},
		{"wildcard host", "hosts:\n  '*.localhost': web", `3: proxy.hosts: "*.localhost" is a wildcard; list each host name`},
		{"IP address host", "hosts:\n  127.0.0.1: web", `3: proxy.hosts: "127.0.0.1" is an IP address`},
		{"host label starting with -", "hosts:\n  -api.localhost: api", `3: proxy.hosts: "-api.localhost" is not a valid host name`},
		{"host with underscore", "hosts:\n  my_api.localhost: api", `3: proxy.hosts: "my_api.localhost" is not a valid host name`},
		{"host with empty label", "hosts:\n  api..localhost: api", `3: proxy.hosts: "api..localhost" is not a valid host name`},
		{"host with trailing dot", "hosts:\n  api.localhost.: api", `3: proxy.hosts: "api.localhost." ends with a dot`},
		{"host twice, ignoring case", "hosts:\n  api.localhost: api\n  API.localhost: web", `4: proxy.hosts: "API.localhost" is the host of line 3 too`},
		{"host without process", "hosts:\n  api.localhost:", `3: proxy.hosts.api.localhost must be a string, got nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseHTTPS(dir, tt.proxy)
			want := filepath.Join(dir, "devcluster.yaml") + ":" + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got error %v, want %q", err, want)
			}
		})
	}
}
