package export

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// haproxyTemplate is a complete haproxy.cfg. Every value from the manifest
// goes through hq (HAProxy's escaping) or is a number, a duration or a
// validated name. The algorithm is always written out: HAProxy 3.3 changed its
// default from roundrobin to random.
var haproxyTemplate = template.Must(template.New("haproxy.cfg").Funcs(funcs).Parse(`{{.Header}}
global
    log stdout format raw local0
    # No maxconn: HAProxy derives it from the open-file limit (devcluster's proxy serves
    # up to 4096 client connections at once); a fixed one fails to start as a user whose
    # limit is lower.
    # As root, add "user haproxy", "group haproxy" and "chroot /var/lib/haproxy".
{{- if .TLS}}
    # devcluster's TLS settings: 1.2 and later (ALPN h2, http/1.1 on each bind).
    ssl-default-bind-options ssl-min-ver TLSv1.2
{{- end}}
{{- if .Resolvers}}

# Docker's DNS: the replicas of each service, as they come and go.
resolvers docker
    nameserver dns 127.0.0.11:53
    accepted_payload_size 8192
    hold valid 10s
{{- end}}

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect {{hdur .ConnectTimeout}}
    timeout client {{hdur .ClientTimeout}}
    # devcluster answers 504 when no response head came within response_timeout;
    # HAProxy's server timeout is the nearest (inactivity while waiting for the server).
    timeout server {{hdur .ResponseTimeout}}
    timeout http-request 10s
    timeout http-keep-alive {{hdur .IdleTimeout}}
    # devcluster's retry rule: a request goes to another instance only when the
    # connection could not be made, never after it may have reached the app;
    # every retry goes to another instance (redispatch 1), as devcluster's.
    retries {{.Retries}}
{{- if gt .Retries 0}}
    retry-on conn-failure
    option redispatch 1
{{- end}}

frontend devcluster
{{- range .TLSComments}}
    # {{.}}
{{- end}}
    bind {{.Bind}}
{{- with .HTTPSBind}}
    bind {{.}}
{{- end}}
{{- with .RedirectPort}}
    # redirect_http: plain HTTP answers 308 with the same URL on the HTTPS port.
    http-request set-var(req.host) req.hdr(host),regsub(:[0-9]+$,) unless { ssl_fc }
    http-request redirect location https://%[var(req.host)]{{.}}%[capture.req.uri] code 308 unless { ssl_fc }
{{- end}}
    # The headers devcluster sets; it removes the forwarding headers it does not set.
    option forwardfor
{{- range .ProtoHeaders}}
    http-request set-header X-Forwarded-Proto {{.}}
{{- end}}
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Real-IP %[src]
    http-request del-header Forwarded
    http-request del-header X-Forwarded-Prefix
    http-request del-header X-Forwarded-Ssl
{{- range .HostRoutes}}
    use_backend {{.Backend}} if { req.hdr(host),field(1,:) -i {{.Hosts}} }
{{- end}}
{{- range .Routes}}
    use_backend {{.Name}} if { path {{hq .Prefix}} } || { path_beg {{hq (slash .Prefix)}} }
{{- end}}
{{- with .Default}}
    default_backend {{.Name}}
{{- end}}
{{range .Backends}}
backend {{.Name}}
    # strategy {{.Strategy}}{{if .Sticky}}, sticky: {{.Sticky}}{{end}}
    balance {{.Balance}}
{{- if .Consistent}}
    hash-type consistent
{{- end}}
{{- if .HealthPath}}
    option httpchk GET {{hq .HealthPath}}
{{- end}}
    timeout check {{hdur .HealthTimeout}}
{{- if .Cookie}}
    cookie {{.Cookie}} insert indirect nocache{{if .Template}} dynamic
    dynamic-cookie-key {{.Name}}{{end}}
{{- end}}
    http-response set-header X-Devcluster-Instance %s
    default-server check inter {{hdur .Interval}} rise {{.Rise}} fall {{.Fall}}
{{- if .Template}}
    # One server per replica found through Docker's DNS; raise the count to scale further.
    server-template {{.Template}} resolvers docker init-addr none weight {{.Weight}}{{if .MaxConn}} maxconn {{.MaxConn}}{{end}}
{{- end}}
{{- range .Servers}}
    server {{.ID}} {{.Addr}}{{if $.CookieOn}} cookie {{.ID}}{{end}} weight {{.Weight}}{{if .MaxConn}} maxconn {{.MaxConn}}{{end}}
{{- end}}
{{end}}
listen stats
    bind {{.StatsBind}}
    stats enable
    stats uri /
    stats refresh 5s
`))

// The client-side timeouts of devcluster's proxy, from their one home.
const (
	proxyClientTimeout = defaults.ClientWriteTimeout
	proxyIdleTimeout   = defaults.IdleTimeout
)

type haproxyBackend struct {
	Name, Strategy, Sticky, Balance string
	Consistent                      bool
	HealthPath                      string
	HealthTimeout, Interval         time.Duration
	Rise, Fall                      int
	Cookie                          string
	Servers                         []haproxyServer
	Template                        string // compose: "web. 3 web:5000"
	Weight, MaxConn                 int
}

type haproxyServer struct {
	ID, Addr        string
	Weight, MaxConn int
}

// haproxyBalance maps devcluster's strategy and stickiness to HAProxy's
// balance algorithm and whether it hashes (consistently, so that only the
// clients of an instance that leaves move, as devcluster's rendezvous hash).
func haproxyBalance(strategy, sticky string) (string, bool) {
	if sticky == "source" {
		return "source", true
	}
	switch strategy {
	case "random":
		return "random(2)", false // devcluster's random is power of two choices
	case "source", "uri":
		return strategy, true
	}
	return strategy, false // roundrobin, leastconn, first: same names
}

func renderHAProxy(c *Cluster, r *Result) error {
	commonWarnings(c, r, "haproxy")
	c.tlsWarnings(r, "haproxy")
	var b strings.Builder
	d := c.haproxyData(c.Listen, false, 0)
	if t := c.TLS; t != nil {
		crt := t.Cert
		if !t.KeyInCert {
			// HAProxy 2.x reads the key from the certificate's file or CERT.key only.
			crt = filepath.Join(firstNonEmpty(c.opts.OutDir, c.Dir), haproxyPEM)
			r.Files = append(r.Files, File{Name: haproxyPEM, Data: c.combinedPEM(), Mode: 0o600})
			r.warn("haproxy", "proxy.tls", "HAProxy 2.x reads the certificate and its key from one file: %s is a copy of %s and %s (mode 0600, it holds the private key: keep it out of version control), export again when the certificate changes",
				haproxyPEM, t.Cert, t.Key)
		}
		if err := c.haproxyTLS(d, crt, hostPort(t.Host, t.Port)); err != nil {
			return err
		}
	}
	if err := haproxyTemplate.Execute(&b, d); err != nil {
		return err
	}
	r.Files = append([]File{{Name: "haproxy.cfg", Data: []byte(b.String())}}, r.Files...)
	return nil
}

type haproxyData struct {
	Header, Bind, StatsBind string
	ConnectTimeout          time.Duration
	ResponseTimeout         time.Duration
	Retries                 int
	ClientTimeout           time.Duration
	IdleTimeout             time.Duration
	Routes                  []*Process
	Default                 *Process
	Backends                []haproxyBackend
	CookieOn                bool
	Resolvers               bool // compose: servers found through Docker's DNS

	// HTTPS (tls.go): the plain bind gets " ssl crt …" when HTTPS replaces
	// plain HTTP; HTTPSBind is the second bind of https_listen.
	TLS          bool
	TLSComments  []string
	HTTPSBind    string
	RedirectPort string   // ":8443" ("" for 443), with redirect_http
	ProtoHeaders []string // X-Forwarded-Proto's values and conditions
	HostRoutes   []haproxyHostRoute
}

// haproxyHostRoute is one use_backend of proxy.hosts: Hosts are quoted words.
type haproxyHostRoute struct{ Backend, Hosts string }

// haproxyData builds the template's data; with docker, each backend finds the
// replicas of its compose service through Docker's DNS, with extra server
// slots for the replicas a rolling update starts before stopping old ones.
func (c *Cluster) haproxyData(bind string, docker bool, extra int) *haproxyData {
	d := &haproxyData{
		Header:          c.header("#"),
		Bind:            bind,
		StatsBind:       c.StatsListen,
		ConnectTimeout:  c.ConnectTimeout,
		ResponseTimeout: c.ResponseTimeout,
		Retries:         c.Retries,
		ClientTimeout:   proxyClientTimeout,
		IdleTimeout:     proxyIdleTimeout,
		Default:         c.DefaultBackend(),
		CookieOn:        c.Sticky == "cookie",
		Resolvers:       docker,
		ProtoHeaders:    []string{"http"},
	}
	c.haproxyHosts(d)
	for _, p := range c.Balanced() {
		if p.Prefix != "/" {
			d.Routes = append(d.Routes, p)
		}
		bal, consistent := haproxyBalance(c.Strategy, c.Sticky)
		be := haproxyBackend{
			Name: p.Name, Strategy: c.Strategy, Sticky: c.Sticky, Balance: bal, Consistent: consistent,
			HealthPath: p.Health.Path, HealthTimeout: p.Health.Timeout, Interval: p.Health.Interval,
			Rise: p.Health.Rise, Fall: p.Health.Fall,
		}
		if d.CookieOn {
			be.Cookie = c.Cookie
		}
		if docker {
			be.Template = fmt.Sprintf("%s. %d %s", p.Name, max(p.Count, 1)+extra, hostPort(p.Slug, p.Port))
			be.Weight, be.MaxConn = p.Weight, p.MaxConn
		} else {
			for _, in := range p.Instances {
				be.Servers = append(be.Servers, haproxyServer{ID: in.ID, Addr: hostPort("127.0.0.1", in.Port), Weight: p.Weight, MaxConn: p.MaxConn})
			}
		}
		d.Backends = append(d.Backends, be)
	}
	return d
}

// haproxyTLS adds HTTPS to d: crt is the PEM file as HAProxy sees it, https
// the address of https_listen's bind.
func (c *Cluster) haproxyTLS(d *haproxyData, crt, https string) error {
	t := c.TLS
	q, err := haproxyQuote(crt)
	if err != nil {
		return err
	}
	ssl := " ssl crt " + q + " alpn h2,http/1.1"
	d.TLS = true
	d.TLSComments = []string{"HTTPS with " + oneLine(t.certSource()) + ";", "HTTP/2 and HTTP/1.1 to clients (ALPN), HTTP/1.1 to the instances, as devcluster."}
	if !t.Separate {
		d.Bind += ssl
		d.ProtoHeaders = []string{"https"}
		return nil
	}
	d.HTTPSBind = https + ssl
	d.ProtoHeaders = []string{"https if { ssl_fc }", "http unless { ssl_fc }"}
	if t.RedirectHTTP {
		d.RedirectPort = ":" + itoa(t.Port)
		if t.Port == 443 {
			d.RedirectPort = ""
		}
	}
	return nil
}

// haproxyHosts routes proxy.hosts before the path prefixes: the Host
// header's name, its port dropped (hosts are names, never IP addresses, so
// the first ":" ends the name). procfile allows only a-z, 0-9, "-" and "."
// in a host: nothing to quote.
func (c *Cluster) haproxyHosts(d *haproxyData) {
	for _, p := range c.Balanced() {
		if hosts := c.hostsOf(p); len(hosts) > 0 {
			d.HostRoutes = append(d.HostRoutes, haproxyHostRoute{Backend: p.Name, Hosts: strings.Join(hosts, " ")})
		}
	}
}
