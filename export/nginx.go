package export

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// nginxTemplate is a complete nginx.conf, runnable as
// "nginx -p DIR -c nginx.conf": the pid file and temporary files are relative
// to the prefix, so it depends on no distribution path and runs as any user.
// Values from the manifest go through nq or are numbers and validated names.
var nginxTemplate = template.Must(template.New("nginx.conf").Funcs(funcs).Parse(`{{.Header}}
# Run: nginx -p DIR -c nginx.conf -g 'daemon off;'   (paths below are relative to DIR)
worker_processes auto;
pid nginx.pid;
error_log stderr;

events {
    worker_connections 1024; # per worker process
}

http {
    access_log {{if .Resolver}}/dev/stdout{{else}}access.log{{end}};
    # The client timeouts of devcluster's proxy.
    keepalive_timeout {{ndur .IdleTimeout}};
    client_body_timeout {{ndur .ClientTimeout}};
    send_timeout {{ndur .ClientTimeout}};
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
{{- if .Resolver}}

    # Docker's DNS: "resolve" follows the replicas as they come and go (nginx 1.27.3+).
    resolver 127.0.0.11 valid=5s ipv6=off;
{{- end}}

    # WebSocket upgrades pass through; other requests keep the upstream connection alive.
    map $http_upgrade $connection_upgrade {
        default upgrade;
        "" "";
    }

    # X-Devcluster-Instance names the instance that answered, as devcluster's proxy does:
    # the last address of $upstream_addr, which lists every instance tried.
    map $upstream_addr $devcluster_instance {
        default $upstream_addr;
{{- range .Upstreams}}{{range .Servers}}{{if .ID}}
        {{lastAddr .Addr}} {{.ID}};{{end}}{{end}}{{end}}
    }
{{range .Upstreams}}
    upstream {{.Name}} {
        # strategy {{.Strategy}}{{if .Sticky}}, sticky: {{.Sticky}}{{end}}
{{- range .Comments}}
        # {{.}}
{{- end}}
{{- if .Method}}
        {{.Method}};
{{- end}}
        zone upstream_{{.Name}} 64k;
{{- range .Servers}}
        server {{.Addr}}{{if ne .Weight 1}} weight={{.Weight}}{{end}}{{if .MaxConn}} max_conns={{.MaxConn}}{{end}} max_fails={{.MaxFails}} fail_timeout={{ndur .FailTimeout}}{{if .Resolve}} resolve{{end}}{{if .Down}} down{{end}};
{{- end}}
        keepalive 32;
    }
{{end}}
{{- with .TLS}}
    # HTTPS with {{.Source}};
    # HTTP/2 and HTTP/1.1 to clients (ALPN), HTTP/1.1 to the instances, as devcluster.
    # "listen ... http2" is what nginx before 1.25.1 reads; later ones warn and accept it.
    ssl_certificate {{nq .Cert}};
    ssl_certificate_key {{nq .Key}};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
{{end}}
{{- range .HostServers}}
    # proxy.hosts: {{.Names}} go to {{.Upstream}}, whatever the path.
    server {
{{- range $.ListenLines}}
        listen {{.}};
{{- end}}
        server_name {{.Names}};
{{template "common" $}}

        location / {
            proxy_pass http://{{.Upstream}};
        }
    }
{{end}}
    server {
{{- range .ListenLines}}
        listen {{.}}{{if $.HostServers}} default_server{{end}};
{{- end}}
{{template "common" .}}
{{range .Locations}}
        location {{if .Exact}}= {{end}}{{nq .Path}} {
            proxy_pass http://{{.Upstream}};
        }
{{- end}}
    }
}
{{/* common: what every server block sets, the main one and each host's. */}}
{{- define "common"}}
        proxy_http_version 1.1;
        # Host as the client sent it ($host would drop the port), and the headers devcluster sets;
        # the forwarding headers it does not set are removed.
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_set_header Forwarded "";
        proxy_set_header X-Forwarded-Prefix "";
        proxy_set_header X-Forwarded-Ssl "";
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        add_header X-Devcluster-Instance $devcluster_instance always;

        proxy_connect_timeout {{ndur .ConnectTimeout}};
        proxy_read_timeout {{ndur .ResponseTimeout}};
        # devcluster's retry rule, as near as nginx comes: another instance on an error,
        # not on a timeout, never for a non-idempotent request. nginx's "error" also
        # covers an instance that closed the connection before its response head, so
        # unlike devcluster and HAProxy (retry-on conn-failure) it passes such a GET on.
{{- if and (gt .Retries 0) .Resolver}}
        # In containers a replica that is gone shows as a connect timeout (its address
        # answers nothing), which nginx cannot tell from a response timeout: "timeout" is
        # retried too, so an idempotent request that waited proxy_read_timeout is replayed.
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries {{add .Retries 1}};
{{- else if gt .Retries 0}}
        proxy_next_upstream error;
        proxy_next_upstream_tries {{add .Retries 1}};
{{- else}}
        proxy_next_upstream off;
{{- end}}
{{- with .RedirectPort}}
        # redirect_http: plain HTTP answers 308 with the same URL on the HTTPS port.
        if ($scheme = http) {
            return 308 https://$host{{.}}$request_uri;
        }
{{- end}}
{{- end}}`))

type nginxData struct {
	Header, Listen                  string
	ListenLines                     []string // "8080", "127.0.0.1:8443 ssl http2"
	TLS                             *nginxTLS
	RedirectPort                    string // ":8443" ("" for 443), with redirect_http
	HostServers                     []nginxHostServer
	Resolver                        bool
	Upstreams                       []nginxUpstream
	Locations                       []nginxLocation
	ConnectTimeout, ResponseTimeout time.Duration
	Retries                         int
	ClientTimeout, IdleTimeout      time.Duration
}

// nginxTLS is the certificate as nginx reads it (on the host, or mounted in
// the balancer's container).
type nginxTLS struct{ Source, Cert, Key string }

// nginxHostServer is the server block of proxy.hosts' names for one process.
type nginxHostServer struct{ Names, Upstream string }

type nginxUpstream struct {
	Name, Strategy, Sticky, Method string
	Comments                       []string
	Servers                        []nginxServer
}

type nginxServer struct {
	ID, Addr        string
	Weight, MaxConn int
	MaxFails        int
	FailTimeout     time.Duration
	Resolve, Down   bool
}

type nginxLocation struct {
	Path, Upstream string
	Exact          bool
}

// nginxLastAddr is a map key matching $upstream_addr when addr is the last
// address tried ("127.0.0.1:5000, 127.0.0.1:5001" when the first failed). addr
// is ours (an IP and a port), so regexp.QuoteMeta is all the quoting it needs.
func nginxLastAddr(addr string) string {
	return `"~(^|, )` + regexp.QuoteMeta(addr) + `$"`
}

// nginxMethod maps devcluster's strategy to an upstream method of nginx open
// source, with the comments and warnings for what it cannot do.
func nginxMethod(c *Cluster, p *Process, r *Result, format string, u *nginxUpstream) {
	switch c.Strategy {
	case "leastconn":
		u.Method = "least_conn"
	case "random":
		u.Method = "random two least_conn" // power of two choices, as devcluster's random
	case "source":
		u.Method = "ip_hash"
		u.Comments = append(u.Comments, "ip_hash keys IPv4 clients on the first three bytes of their address")
	case "uri":
		// $uri, not $request_uri: devcluster's uri strategy leaves the query string out.
		u.Method = "hash $uri consistent"
	case "first":
		u.Comments = append(u.Comments, "nginx has no \"first\" method; round-robin instead")
		r.warn(format, "proxy.strategy", "nginx has no \"first\" method (fill the first instance up to maxconn): using round-robin for %s", p.Name)
	default:
		u.Comments = append(u.Comments, "round-robin is nginx's default method")
	}
	switch c.Sticky {
	case "source":
		u.Method = "ip_hash"
	case "cookie":
		u.Method = "ip_hash"
		u.Comments = append(u.Comments,
			"sticky: cookie needs nginx 1.29.6+ or NGINX Plus (sticky cookie "+c.Cookie+";); ip_hash is the nearest",
			"equivalent in nginx open source: one client address stays on one instance.")
		r.warn(format, "proxy.sticky", "cookie stickiness needs nginx 1.29.6+ (sticky cookie) or NGINX Plus: %s sticks by client address (ip_hash) instead", p.Name)
	}
}

// nginxChecks comments on and warns about the health settings nginx open
// source cannot apply: it has only the passive check (max_fails within
// fail_timeout), whatever the manifest configures.
func nginxChecks(p *Process, r *Result, format string, u *nginxUpstream) {
	u.Comments = append(u.Comments, "passive check: "+itoa(p.Health.Fall)+" failed connections within fail_timeout take an instance out for fail_timeout")
	if p.Health.Path != "" {
		u.Comments = append(u.Comments, "active health checks (health_check uri="+oneLine(p.Health.Path)+") are NGINX Plus only")
		r.warn(format, p.Name+".health.path", "active health checks are NGINX Plus only: %s uses the passive check (max_fails=%d fail_timeout=%s)",
			p.Name, p.Health.Fall, nginxDuration(failTimeout(p)))
	} else if p.Health.Set {
		r.warn(format, p.Name+".health", "nginx open source has no active check: %s uses the passive check (max_fails=%d fail_timeout=%s)",
			p.Name, p.Health.Fall, nginxDuration(failTimeout(p)))
	}
}

// failTimeout is how long the passive check keeps a failed instance out: the
// time devcluster's active check would take to see it fail and recover.
func failTimeout(p *Process) time.Duration {
	return max(p.Health.Interval*time.Duration(p.Health.Fall+p.Health.Rise), 10*time.Second)
}

func renderNginx(c *Cluster, r *Result) error {
	commonWarnings(c, r, "nginx")
	c.tlsWarnings(r, "nginx")
	d, err := c.nginxData(r, "nginx", hostPort(c.ListenHost, c.ListenPort), false)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := nginxTemplate.Execute(&b, d); err != nil {
		return err
	}
	r.add("nginx.conf", b.String())
	return nil
}

// nginxData builds the upstreams and locations; with docker, servers are the
// compose service names resolved through Docker's DNS.
func (c *Cluster) nginxData(r *Result, format, listen string, docker bool) (*nginxData, error) {
	d := &nginxData{
		Header: c.header("#"), Listen: listen, Resolver: docker,
		ConnectTimeout: c.ConnectTimeout, ResponseTimeout: c.ResponseTimeout, Retries: c.Retries,
		ClientTimeout: proxyClientTimeout, IdleTimeout: proxyIdleTimeout,
	}
	if c.ListenHost == "" {
		d.Listen = itoa(c.ListenPort)
	}
	if docker && c.Retries > 0 {
		r.warn(format, "proxy.retries", "a replica that is gone shows as a connect timeout, which nginx cannot tell from a response timeout: an idempotent request that waited %s for its answer is sent to another replica too, where devcluster would answer 504",
			nginxDuration(c.ResponseTimeout))
	}
	for _, p := range c.Balanced() {
		u := nginxUpstream{Name: p.Name, Strategy: c.Strategy, Sticky: c.Sticky}
		nginxMethod(c, p, r, format, &u)
		nginxChecks(p, r, format, &u)
		srv := nginxServer{Weight: p.Weight, MaxConn: p.MaxConn, MaxFails: p.Health.Fall, FailTimeout: failTimeout(p)}
		switch {
		case docker:
			srv.Addr, srv.Resolve = hostPort(p.Slug, p.Port), true
			u.Servers = append(u.Servers, srv)
		case len(p.Instances) == 0:
			// nginx refuses an upstream without servers: keep the first port, marked down.
			srv.Addr, srv.Down = hostPort("127.0.0.1", p.Port), true
			u.Servers = append(u.Servers, srv)
		default:
			for _, in := range p.Instances {
				s := srv
				s.ID, s.Addr = in.ID, hostPort("127.0.0.1", in.Port)
				u.Servers = append(u.Servers, s)
			}
		}
		d.Upstreams = append(d.Upstreams, u)
		if hosts := c.hostsOf(p); len(hosts) > 0 {
			// procfile allows only a-z, 0-9, "-" and "." in a host: nothing to quote.
			d.HostServers = append(d.HostServers, nginxHostServer{Names: strings.Join(hosts, " "), Upstream: p.Name})
		}
		if p.Prefix == "/" {
			d.Locations = append(d.Locations, nginxLocation{Path: "/", Upstream: p.Name})
			continue
		}
		if !strings.HasSuffix(p.Prefix, "/") {
			d.Locations = append(d.Locations, nginxLocation{Path: p.Prefix, Upstream: p.Name, Exact: true})
		}
		d.Locations = append(d.Locations, nginxLocation{Path: withSlash(p.Prefix), Upstream: p.Name})
	}
	d.ListenLines = []string{d.Listen}
	if err := c.nginxTLS(d, docker); err != nil {
		return nil, err
	}
	return d, nil
}

// nginxTLS adds HTTPS to d: on its own listener (https_listen) beside the
// plain one, or on the plain one's address; with docker, the certificate is
// the one mounted in the container.
func (c *Cluster) nginxTLS(d *nginxData, docker bool) error {
	t := c.TLS
	if t == nil {
		return nil
	}
	d.TLS = &nginxTLS{Source: oneLine(t.certSource()), Cert: t.Cert, Key: t.Key}
	if docker {
		d.TLS.Cert, d.TLS.Key = containerCert, containerKey
	}
	for _, f := range []string{d.TLS.Cert, d.TLS.Key} {
		if strings.Contains(f, "$") {
			return fmt.Errorf("nginx reads %q as holding a variable (\"$\"): move the file to a path without one", f)
		}
	}
	https := itoa(t.Port)
	if t.Host != "" && !docker {
		https = hostPort(t.Host, t.Port)
	}
	if !t.Separate {
		d.ListenLines = []string{https + " ssl http2"}
		return nil
	}
	d.ListenLines = append(d.ListenLines, https+" ssl http2")
	if t.RedirectHTTP {
		d.RedirectPort = ":" + itoa(t.Port)
		if t.Port == 443 {
			d.RedirectPort = ""
		}
	}
	return nil
}
