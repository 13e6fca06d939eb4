package procfile

import (
	"cmp"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
	"gopkg.in/yaml.v3"
)

// HTTPS and host-named routes in the proxy: section (issue 23):
//
//	proxy:
//	  tls: true                       # HTTPS with the local CA (devcluster trust)
//	  tls: {cert: cert.pem, key: key.pem}   # or the user's own certificate
//	  https_listen: 127.0.0.1:8443    # HTTPS here, plain HTTP kept on listen
//	  redirect_http: true             # plain HTTP answers 308 to the HTTPS URL
//	  hosts:
//	    api.localhost: api            # Host → a balanced process
//	    app.localhost: web

// proxyHTTPS reads one of the keys above into pc.
func (y *yamlParser) proxyHTTPS(pc *ProxyConfig, key string, v *yaml.Node) {
	field := "proxy." + key
	switch key {
	case "tls":
		y.tls(pc, v, field)
	case "https_listen":
		if pc.HTTPSListen = y.listenAddr(v, field, defaults.HTTPSListen); pc.HTTPSListen != "" && pc.TLS.Line == 0 {
			pc.TLS.Line = v.Line
		}
	case "redirect_http":
		pc.RedirectHTTP, _ = y.boolean(v, field)
	case "hosts":
		pc.Hosts = y.hosts(v, field)
	}
}

// tls reads true, false, or {cert: FILE, key: FILE}.
func (y *yamlParser) tls(pc *ProxyConfig, v *yaml.Node, field string) {
	pc.TLS.Line = v.Line
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		pc.TLS.On, _ = y.boolean(v, field)
		if !pc.TLS.On {
			y.tlsOff = v.Line
		}
		return
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be true, false, or a mapping {cert: FILE, key: FILE} for a certificate of your own; got %s",
			field, describe(v))
		return
	}
	pc.TLS.On = true
	files := map[string]*yaml.Node{}
	y.mapping(v, "in "+field, tlsKeys(), func(key string, k, v *yaml.Node) {
		if s, ok := y.str(v, field+"."+key); ok {
			if s = strings.TrimSpace(s); s == "" {
				y.c.addf(v.Line, "%s.%s is empty; write the path of the PEM file", field, key)
			} else {
				files[key] = v
			}
		}
	})
	cert, key := files["cert"], files["key"]
	switch {
	case cert == nil && key == nil:
		if len(v.Content) == 0 {
			y.c.addf(v.Line, "%s is an empty mapping; write tls: true for the local CA, or {cert: FILE, key: FILE}", field)
		}
		return
	case key == nil:
		y.c.addf(cert.Line, "%s.cert without %s.key; add the key file (key: key.pem), or write tls: true for the local CA", field, field)
		return
	case cert == nil:
		y.c.addf(key.Line, "%s.key without %s.cert; add the certificate file (cert: cert.pem), or write tls: true for the local CA", field, field)
		return
	}
	certPath, certOK := y.pemFile(cert, field+".cert")
	keyPath, keyOK := y.pemFile(key, field+".key")
	if !certOK || !keyOK {
		return
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		y.c.addf(cert.Line, "%s: %s and %s are not a certificate and its key: %v", field,
			quoteShort(cert.Value), quoteShort(key.Value), err)
		return
	}
	pc.TLS.Cert, pc.TLS.Key = certPath, keyPath
}

// pemFile resolves a file named in the manifest against the manifest's
// directory, and checks that it is a readable file.
func (y *yamlParser) pemFile(v *yaml.Node, field string) (string, bool) {
	path := strings.TrimSpace(v.Value)
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(y.c.file), path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		y.c.addf(v.Line, "%s: no file %s; write the path of the PEM file, relative to the manifest's directory", field, path)
		return "", false
	case err != nil:
		y.c.addf(v.Line, "%s: %v", field, err)
		return "", false
	case fi.IsDir():
		y.c.addf(v.Line, "%s: %s is a directory; write the path of the PEM file", field, path)
		return "", false
	}
	return path, true
}

// hosts reads the mapping of host names to processes; the processes are
// checked once all are known, in checkHTTPS.
func (y *yamlParser) hosts(v *yaml.Node, field string) []HostRoute {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping of host names to processes, like {api.localhost: api}, got %s", field, kindName(v))
		return nil
	}
	var routes []HostRoute
	seen := map[string]int{}
	y.mapping(v, "in "+field, nil, func(host string, k, v *yaml.Node) {
		name := strings.ToLower(strings.TrimSpace(host))
		if msg := hostProblem(name); msg != "" {
			y.c.addf(k.Line, "%s: %s %s", field, quoteShort(host), msg)
			return
		}
		if at, dup := seen[name]; dup {
			y.c.addf(k.Line, "%s: %s is the host of line %d too (host names ignore case); remove one", field, quoteShort(host), at)
			return
		}
		seen[name] = k.Line
		proc, ok := y.str(v, field+"."+host)
		if !ok {
			return
		}
		routes = append(routes, HostRoute{Host: name, Process: strings.TrimSpace(proc), Line: k.Line})
	})
	return routes
}

// hostProblem says what is wrong with a host name of proxy.hosts ("" if
// nothing): a DNS name, without port, wildcard or trailing dot, matched
// against the request's Host with its port dropped.
func hostProblem(name string) string {
	switch {
	case name == "":
		return "is empty; write a host name like api.localhost"
	case strings.Contains(name, "*"):
		return "is a wildcard; list each host name (api.localhost, app.localhost)"
	case net.ParseIP(strings.Trim(name, "[]")) != nil:
		return "is an IP address; hosts route by name, write one like api.localhost"
	case strings.Contains(name, ":"):
		return "has a port; write the name alone (the port is the proxy's)"
	case strings.HasSuffix(name, "."):
		return "ends with a dot; write it without"
	case len(name) > 253:
		return "is longer than a DNS name can be (253 characters)"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "is not a valid host name; use letters, digits and \"-\" between dots, like api.localhost"
		}
	}
	return ""
}

// checkHTTPS checks what needs the whole manifest: each host's process is
// balanced, redirect_http has an HTTPS listener to send to, and the two
// listeners differ. It warns of hosts no browser resolves by itself.
func (y *yamlParser) checkHTTPS(m *Manifest) {
	pc := &m.Proxy
	if pc.HTTPSListen != "" && y.tlsOff > 0 {
		y.c.addf(y.tlsOff, "proxy.tls: false, but proxy.https_listen %s asks for HTTPS; remove one of them", pc.HTTPSListen)
	}
	if pc.HTTPSListen != "" {
		pc.TLS.On = true
		if pc.HTTPSListen == cmp.Or(pc.Listen, defaults.Listen) {
			y.c.addf(pc.TLS.Line, "proxy.https_listen %s is the plain listen address too; choose another port, like %s, "+
				"or drop https_listen to serve only HTTPS there", pc.HTTPSListen, defaults.HTTPSListen)
		}
	}
	if pc.RedirectHTTP && pc.HTTPSListen == "" {
		y.c.addf(pc.Line, "proxy.redirect_http needs proxy.https_listen: with tls alone the listen address serves HTTPS and there is no plain HTTP to redirect; "+
			"add https_listen: %s", defaults.HTTPSListen)
	}
	names := make([]string, 0, len(m.Processes))
	for _, p := range m.Processes {
		names = append(names, p.Name)
	}
	for _, h := range pc.Hosts {
		p := m.Process(h.Process)
		switch {
		case p == nil:
			y.c.addf(h.Line, "proxy.hosts: %s routes to unknown process %s%s", h.Host, quoteShort(h.Process), suggest(h.Process, names))
		case !m.IsBalanced(p):
			y.c.addf(h.Line, "proxy.hosts: %s routes to %s, which the proxy does not balance; give it proxy: true under processes.%s",
				h.Host, p.Name, p.Name)
		case h.Host != "localhost" && !strings.HasSuffix(h.Host, ".localhost"):
			y.warnf(h.Line, "proxy.hosts: %s does not end in .localhost, the only names browsers send to this machine by themselves; "+
				"add \"127.0.0.1 %s\" to /etc/hosts", h.Host, h.Host)
		}
	}
}
