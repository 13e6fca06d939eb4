package proxy

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startHostsProxy serves web on "/" and app.localhost, api on api.localhost
// only, and admin on /admin, each with one instance named after it.
func startHostsProxy(t *testing.T, cfg Config) *testProxy {
	t.Helper()
	tp := startProxy(t, cfg,
		PoolConfig{Process: "web", Hosts: []string{"app.localhost"}, Prefix: "/"},
		PoolConfig{Process: "api", Hosts: []string{"api.localhost"}},
		PoolConfig{Process: "admin", Prefix: "/admin"})
	for _, id := range []string{"web.1", "api.1", "admin.1"} {
		tp.Enable(id, startBackend(t, id, nil).Addr)
	}
	return tp
}

func TestHostRoutes(t *testing.T) {
	t.Parallel()
	tp := startHostsProxy(t, Config{})
	port := tp.Addr[strings.LastIndexByte(tp.Addr, ':')+1:]
	tests := []struct {
		name, target, host string
		want               string // the instance, or "404"
	}{
		{"host", "/", "api.localhost", "api.1"},
		{"host with the port", "/x", "api.localhost:" + port, "api.1"},
		{"host in another case", "/x", "API.LocalHost:" + port, "api.1"},
		{"host with a final dot", "/", "api.localhost.", "api.1"},
		{"host before prefix", "/admin", "app.localhost", "web.1"},
		{"host-only process under a path of another", "/admin/x", "api.localhost", "api.1"},
		{"localhost routes by prefix", "/admin", "localhost:" + port, "admin.1"},
		{"localhost, prefix /", "/", "localhost", "web.1"},
		{"IPv4 routes by prefix", "/admin", "127.0.0.1:" + port, "admin.1"},
		{"IPv6 routes by prefix", "/", "[::1]:" + port, "web.1"},
		{"absolute URI names the host", "http://api.localhost/x", "localhost", "api.1"},
		{"unknown host", "/", "nope.localhost", "404"},
		{"unknown host, path of a prefix", "/admin", "www.localhost:" + port, "404"},
		{"a host's subdomain is another host", "/", "v2.api.localhost", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := rawResponse(t, tp.Addr, "GET "+tt.target+" HTTP/1.1\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n")
			if tt.want == "404" {
				if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "http://api.localhost:"+port+"/ → api") {
					t.Errorf("got %d %q, want 404 with the hosts page", resp.StatusCode, body)
				}
				return
			}
			if got := resp.Header.Get("X-Devcluster-Instance"); resp.StatusCode != http.StatusOK || got != tt.want {
				t.Errorf("got %d from %q (%q), want 200 from %s", resp.StatusCode, got, body, tt.want)
			}
		})
	}
}

// TestHostsPage: the 404 for an unknown host lists every host with its URL, as
// HTML for a browser and as text for curl, and escapes what the client sent.
func TestHostsPage(t *testing.T) {
	t.Parallel()
	tp := startHostsProxy(t, Config{})
	port := tp.Addr[strings.LastIndexByte(tp.Addr, ':')+1:]
	t.Run("text", func(t *testing.T) {
		resp, body := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: nope.localhost:"+port+"\r\nAccept: */*\r\nConnection: close\r\n\r\n")
		want := "404 Not Found: no process is served at host nope.localhost; the hosts of this proxy (proxy.hosts in devcluster.yaml):\n" +
			"  http://api.localhost:" + port + "/ → api\n" +
			"  http://app.localhost:" + port + "/ → web\n"
		if resp.StatusCode != http.StatusNotFound || body != want {
			t.Errorf("got %d %q, want 404 %q", resp.StatusCode, body, want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type: got %q, want text/plain", ct)
		}
	})
	t.Run("html", func(t *testing.T) {
		resp, body := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: nope.localhost\r\n"+
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nConnection: close\r\n\r\n")
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusNotFound || ct != "text/html; charset=utf-8" {
			t.Fatalf("got %d %q, want 404 text/html", resp.StatusCode, ct)
		}
		for _, want := range []string{
			"no process is served at host nope.localhost",
			`<li><a href="http://api.localhost:` + port + `/">http://api.localhost:` + port + `/</a> → api</li>`,
			`<li><a href="http://app.localhost:` + port + `/">http://app.localhost:` + port + `/</a> → web</li>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page %q lacks %q", body, want)
			}
		}
	})
	t.Run("loopback outside every prefix, escaped", func(t *testing.T) {
		// Only host-only pools: a path on localhost matches nothing.
		tp := startProxy(t, Config{}, PoolConfig{Process: "api", Hosts: []string{"api.localhost"}})
		resp, body := rawResponse(t, tp.Addr, "GET /%3Cb%3E HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no process is balanced under /&lt;b&gt; on localhost") ||
			strings.Contains(body, "<b>") {
			t.Errorf("got %d %q, want 404 naming /&lt;b&gt; escaped", resp.StatusCode, body)
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		conn, err := net.Dial("tcp", tp.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "HEAD / HTTP/1.1\r\nHost: nope.localhost\r\nConnection: close\r\n\r\n")
		all, err := io.ReadAll(conn)
		if err != nil {
			t.Fatal(err)
		}
		if head, body, _ := strings.Cut(string(all), "\r\n\r\n"); !strings.HasPrefix(head, "HTTP/1.1 404 ") || body != "" {
			t.Errorf("got %q, want a 404 head and no body", all)
		}
	})
}

// TestHostsKeepLocalPrefix: the proxy's own pages (the dashboard) answer under
// every name, a known host's, an unknown one's (whose Host the dashboard
// itself then refuses) and localhost's.
func TestHostsKeepLocalPrefix(t *testing.T) {
	t.Parallel()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "local for "+r.Host) })
	tp := startHostsProxy(t, Config{Local: local})
	for _, host := range []string{"api.localhost", "nope.localhost", "localhost"} {
		_, body := rawResponse(t, tp.Addr, "GET "+DefaultLocalPrefix+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if body != "local for "+host {
			t.Errorf("Host %s: got %q, want the local handler's answer", host, body)
		}
	}
}

// Without hosts, a Host is not looked at: any name routes by prefix, and a
// path outside every prefix gets the plain 404 of before.
func TestNoHostsRoutesEveryNameByPrefix(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web", Prefix: "/app"})
	startWeb(t, tp, 1)
	resp, _ := rawResponse(t, tp.Addr, "GET /app HTTP/1.1\r\nHost: anything.example\r\nConnection: close\r\n\r\n")
	if got := resp.Header.Get("X-Devcluster-Instance"); got != "web.1" {
		t.Errorf("got %q, want web.1", got)
	}
	resp, body := rawResponse(t, tp.Addr, "GET /x HTTP/1.1\r\nHost: anything.example\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != http.StatusNotFound || body != "404 Not Found: no process is balanced under /x\n" {
		t.Errorf("got %d %q, want the plain 404", resp.StatusCode, body)
	}
}

func TestAddPoolHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pools []PoolConfig
		want  string // error of the last AddPool; "" none
	}{
		{"two processes by host only", []PoolConfig{{Process: "web", Hosts: []string{"app.localhost"}}, {Process: "api", Hosts: []string{"api.localhost"}}}, ""},
		{"host only beside /", []PoolConfig{{Process: "web"}, {Process: "api", Hosts: []string{"api.localhost"}}}, ""},
		{"two on / still refused", []PoolConfig{{Process: "web"}, {Process: "api"}}, "add pool api: prefix / is already balanced to web"},
		{"host of another pool", []PoolConfig{{Process: "web", Hosts: []string{"app.localhost"}}, {Process: "api", Hosts: []string{"app.localhost"}}},
			"add pool api: host app.localhost is already routed to web"},
		{"host twice", []PoolConfig{{Process: "api", Hosts: []string{"api.localhost", "api.localhost"}}}, "add pool api: host api.localhost is listed twice"},
		{"upper case", []PoolConfig{{Process: "api", Hosts: []string{"Api.localhost"}}}, `add pool api: host "Api.localhost": want a lower-case host name without port, like api.localhost`},
		{"with a port", []PoolConfig{{Process: "api", Hosts: []string{"api.localhost:8080"}}}, `add pool api: host "api.localhost:8080": want a lower-case host name`},
		{"empty", []PoolConfig{{Process: "api", Hosts: []string{""}}}, `add pool api: host "": want a lower-case host name`},
		{"IP address", []PoolConfig{{Process: "api", Hosts: []string{"127.0.0.2"}}}, `add pool api: host "127.0.0.2" is an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for i, pc := range tt.pools {
				if last = p.AddPool(pc); last != nil && i < len(tt.pools)-1 {
					t.Fatalf("AddPool %s: %v", pc.Process, last)
				}
			}
			switch {
			case tt.want == "" && last != nil:
				t.Errorf("got %v, want no error", last)
			case tt.want != "" && (last == nil || !strings.HasPrefix(last.Error(), tt.want)):
				t.Errorf("got %v, want %q", last, tt.want)
			}
		})
	}
}

// TestKeepAliveZeroAllocsByHost: routing by Host, in another case and with a
// port, costs a keep-alive request no allocation.
func TestKeepAliveZeroAllocsByHost(t *testing.T) {
	tp := startProxy(t, Config{}, PoolConfig{Process: "web"}, PoolConfig{Process: "api", Hosts: []string{"api.localhost"}})
	for i := 1; i <= 2; i++ {
		tp.Enable("api."+strconv.Itoa(i), rawBackend(t))
	}
	c := newRawClient(t, tp.Addr)
	c.req = []byte("GET /x HTTP/1.1\r\nHost: API.localhost:8080\r\nUser-Agent: raw\r\nAccept: */*\r\n\r\n")
	allocs := c.allocsPerGet(t) // web has no instance: only api answers
	if allocs > 0 {
		t.Errorf("got %.2f allocations per request routed by host, want 0", allocs)
	}
}

// A host of proxy.hosts named localhost takes localhost from the default server.
func TestLocalhostAsHost(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{}, PoolConfig{Process: "web"}, PoolConfig{Process: "api", Hosts: []string{"localhost"}})
	startWeb(t, tp, 1)
	tp.Enable("api.1", startBackend(t, "api.1", nil).Addr)
	for host, want := range map[string]string{"localhost": "api.1", "LOCALHOST:1": "api.1", "127.0.0.1": "web.1"} {
		resp, _ := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if got := resp.Header.Get("X-Devcluster-Instance"); got != want {
			t.Errorf("Host %s: got %q, want %s", host, got, want)
		}
	}
}

// FuzzHostName: the name is a prefix of the Host value, and looking it up
// finds what a lower-cased lookup finds.
func FuzzHostName(f *testing.F) {
	for _, s := range []string{"api.localhost", "API.LocalHost:8080", "api.localhost.", "[::1]:80", "[::1", "a.:", ":", "",
		"127.0.0.1:1", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	hm := map[string]*pool{"api.localhost": {}, "a": {}}
	asciiLower := func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	f.Fuzz(func(t *testing.T, v string) {
		name := hostName([]byte(v))
		if !strings.HasPrefix(v, string(name)) {
			t.Fatalf("hostName(%q) = %q, not a prefix", v, name)
		}
		want := hm[strings.Map(asciiLower, string(name))]
		if len(name) > maxHostName {
			want = nil
		}
		if got := lookupHost(hm, name); got != want {
			t.Errorf("lookupHost(%q) = %p, want %p", name, got, want)
		}
	})
}

// BenchmarkProxyRawByHost is BenchmarkProxyRaw routed by a Host in another
// case and with a port, beside a prefix pool: what host routing adds.
func BenchmarkProxyRawByHost(b *testing.B) {
	tp := startProxy(b, Config{}, PoolConfig{Process: "web"}, PoolConfig{Process: "api", Hosts: []string{"app.localhost", "api.localhost"}})
	for i := 1; i <= 3; i++ {
		tp.Enable("api."+strconv.Itoa(i), rawBackend(b))
	}
	c := newRawClient(b, tp.Addr)
	c.req = []byte("GET /x HTTP/1.1\r\nHost: API.localhost:8080\r\nUser-Agent: raw\r\nAccept: */*\r\n\r\n")
	c.bench(b)
}

// BenchmarkRoute is the routing decision alone: by path prefix without hosts,
// and by a Host in lower case or not, with its port.
func BenchmarkRoute(b *testing.B) {
	for _, bc := range []struct {
		name  string
		hosts []string
		host  string
	}{
		{"prefix", nil, "localhost:8080"},
		{"host", []string{"app.localhost", "api.localhost"}, "api.localhost:8080"},
		{"host upper", []string{"app.localhost", "api.localhost"}, "API.LocalHost:8080"},
		{"default server", []string{"app.localhost", "api.localhost"}, "127.0.0.1:8080"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			for _, pc := range []PoolConfig{{Process: "web"}, {Process: "admin", Prefix: "/admin"}, {Process: "api", Hosts: bc.hosts, Prefix: "/api"}} {
				if err := p.AddPool(pc); err != nil {
					b.Fatal(err)
				}
			}
			host := []byte(bc.host)
			b.ReportAllocs()
			for b.Loop() {
				if pl, _ := p.routeRequest(host, "/x"); pl == nil {
					b.Fatal("no pool")
				}
			}
		})
	}
}
