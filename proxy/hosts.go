package proxy

import (
	"fmt"
	"html"
	"net/http"
	"sort"
	"strings"
)

// Host-named routes (PoolConfig.Hosts), as nginx's server_name or HAProxy's
// hdr(host): a request's Host, its port and a final dot dropped and compared
// without case, picks a pool before its path does. The order is nginx's: the
// host first, then the path within it. A request whose Host is one of a pool's
// names goes to that pool whatever its path (the proxy's own pages under
// LocalPrefix excepted, which every name serves). A request to a loopback
// name (localhost unless it is a pool's host, an IP address, or no Host at
// all) is the default server: it is routed by path prefix, as without hosts.
// Any other name, once some pool has hosts, is unknown and answered 404 with a
// page that lists the known hosts and their URLs (HTML for a browser, text
// otherwise), so that a typo shows the way instead of reaching an app.

// maxHostName is the longest DNS name; longer Host values match no pool.
const maxHostName = 253

// checkHosts validates pc.Hosts against the pools added so far; p.mu is held.
func (p *Proxy) checkHosts(pc PoolConfig) error {
	var known map[string]*pool
	if hm := p.hosts.Load(); hm != nil {
		known = *hm
	}
	seen := map[string]bool{}
	for _, h := range pc.Hosts {
		switch {
		case h == "" || len(h) > maxHostName || strings.ContainsAny(h, ":/[] *") || hasUpper([]byte(h)) || strings.HasSuffix(h, "."):
			return fmt.Errorf("add pool %s: host %q: want a lower-case host name without port, like api.localhost", pc.Process, h)
		case isIPLiteral([]byte(h)):
			return fmt.Errorf("add pool %s: host %q is an IP address; hosts route by name", pc.Process, h)
		case seen[h]:
			return fmt.Errorf("add pool %s: host %s is listed twice", pc.Process, h)
		case known[h] != nil:
			return fmt.Errorf("add pool %s: host %s is already routed to %s", pc.Process, h, known[h].cfg.Process)
		}
		seen[h] = true
	}
	return nil
}

// addHosts routes pl's hosts to it; p.mu is held and checkHosts passed.
func (p *Proxy) addHosts(pl *pool) {
	if len(pl.cfg.Hosts) == 0 {
		return
	}
	hm := map[string]*pool{}
	if old := p.hosts.Load(); old != nil {
		for h, o := range *old {
			hm[h] = o
		}
	}
	for _, h := range pl.cfg.Hosts {
		hm[h] = pl
	}
	p.hosts.Store(&hm)
}

// routeRequest picks the pool for a request's Host and path. It returns nil
// when none matches; hosts reports whether the proxy has host routes (the
// answer is then the hosts page).
func (p *Proxy) routeRequest(host []byte, path string) (pl *pool, hosts bool) {
	hm := p.hosts.Load()
	if hm == nil {
		return p.route(path), false
	}
	name := hostName(host)
	if pl := lookupHost(*hm, name); pl != nil {
		return pl, true
	}
	if isDefaultName(name) {
		return p.route(path), true
	}
	return nil, true
}

// hostName is a Host value's name: the port and a final dot dropped.
func hostName(v []byte) []byte {
	if len(v) > 0 && v[0] == '[' {
		for i, c := range v {
			if c == ']' {
				return v[:i+1]
			}
		}
		return v
	}
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ':' {
			v = v[:i]
			break
		}
	}
	if n := len(v); n > 0 && v[n-1] == '.' {
		v = v[:n-1]
	}
	return v
}

// lookupHost finds name in hm without case, allocating nothing.
func lookupHost(hm map[string]*pool, name []byte) *pool {
	if !hasUpper(name) {
		return hm[string(name)]
	}
	if len(name) > maxHostName {
		return nil
	}
	var buf [maxHostName]byte
	n := copy(buf[:], name)
	for i := range n {
		if c := buf[i]; 'A' <= c && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return hm[string(buf[:n])]
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// isDefaultName reports whether a Host name that is no pool's reaches the
// default server (routing by path): none, localhost, or an IP address.
func isDefaultName(name []byte) bool {
	return len(name) == 0 || asciiEqualFold(name, "localhost") || isIPLiteral(name)
}

// isIPLiteral reports whether name is an IPv4 address or a bracketed IPv6 one
// (as a Host carries it); host names of PoolConfig.Hosts are neither.
func isIPLiteral(name []byte) bool {
	if len(name) > 1 && name[0] == '[' && name[len(name)-1] == ']' {
		return true
	}
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// hostRoute is one line of the hosts page.
type hostRoute struct {
	host, process, url string
}

// hostRoutes lists the host routes by name, with their URLs on the scheme and
// port the client connected to.
func (c *clientConn) hostRoutes() []hostRoute {
	hm := c.p.hosts.Load()
	if hm == nil {
		return nil
	}
	port, defPort := "", "80"
	if c.proto == "https" {
		defPort = "443"
	}
	if c.localPort != "" && c.localPort != defPort {
		port = ":" + c.localPort
	}
	var rs []hostRoute
	for h, pl := range *hm {
		rs = append(rs, hostRoute{host: h, process: pl.cfg.Process, url: c.proto + "://" + h + port + "/"})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].host < rs[j].host })
	return rs
}

// writeHostsPage answers 404 for a request that no host and no prefix route
// takes, listing the known hosts: an HTML page when the client accepts HTML
// (a browser), plain text otherwise.
func (c *clientConn) writeHostsPage(fr *fwdReq, keep bool) {
	name := string(hostName(fr.h.host))
	why := "no process is balanced under " + fr.h.path + " on " + name
	if !isDefaultName([]byte(name)) {
		why = "no process is served at host " + name
	}
	routes := c.hostRoutes()
	if acceptsHTML(fr.h) {
		var sb strings.Builder
		sb.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>404 Not Found · devcluster</title></head><body>\n")
		sb.WriteString("<h1>404 Not Found</h1>\n<p>devcluster: " + html.EscapeString(why) + ". The hosts of this proxy:</p>\n<ul>\n")
		for _, r := range routes {
			u := html.EscapeString(r.url)
			sb.WriteString("<li><a href=\"" + u + "\">" + u + "</a> → " + html.EscapeString(r.process) + "</li>\n")
		}
		sb.WriteString("</ul>\n<p>Names under .localhost reach this machine by themselves; the hosts are set in proxy.hosts of devcluster.yaml.</p>\n</body></html>\n")
		c.writePage(fr, http.StatusNotFound, "text/html; charset=utf-8", "", sb.String(), keep)
		return
	}
	var sb strings.Builder
	sb.WriteString("404 Not Found: " + why + "; the hosts of this proxy (proxy.hosts in devcluster.yaml):\n")
	for _, r := range routes {
		sb.WriteString("  " + r.url + " → " + r.process + "\n")
	}
	c.writePage(fr, http.StatusNotFound, "text/plain; charset=utf-8", "", sb.String(), keep)
}

// acceptsHTML reports whether h's Accept names text/html, as a browser's
// navigation does.
func acceptsHTML(h *reqHead) bool {
	for i := range h.fields {
		f := &h.fields[i]
		if asciiEqualFold(f.name, "accept") && strings.Contains(strings.ToLower(string(f.value)), "text/html") {
			return true
		}
	}
	return false
}
