package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The dashboard's doors. It listens on loopback, but any web page the user
// opens can make their browser send requests to 127.0.0.1:8080, so:
//
//   - every request must carry a Host that is the listen address or
//     localhost:PORT: a DNS-rebinding page (evil.example resolving to
//     127.0.0.1) sends Host: evil.example and is refused, for reads too;
//   - a mutating request must carry the run's token in the X-Devcluster-Token
//     header, and a same-origin Origin or Sec-Fetch-Site, which browsers set
//     and pages cannot forge (a script sends an Origin of its own).
//
// The token is never a cookie: browsers send a host's cookies to every port
// of it (cookies ignore ports), so devcluster_token_PORT went to any other
// server on 127.0.0.1, another user's included. The URL printed at start
// carries it in its fragment (#token=…), which browsers never send to any
// server nor put in Referer; the page (app.js) moves it to sessionStorage,
// which is kept per origin, port included, and per tab, takes it out of the
// address bar, and sends it as the header. A new tab opens the URL again.
//
// No endpoint runs a command: actions are a closed list (ActionKind).

// TokenHeader carries the token, from the page and from scripts alike.
const TokenHeader = "X-Devcluster-Token"

// NewToken returns a fresh random token of 128 bits, hex-encoded.
func NewToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make the dashboard token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// doors holds what the checks compare against.
type doors struct {
	token  string
	hosts  map[string]bool // lower-case host:port values accepted
	prefix string
}

func newDoors(token, addr, prefix string, extra []string) (*doors, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return nil, fmt.Errorf("dashboard listen address %q: want the proxy's bound host:port, e.g. 127.0.0.1:8080", addr)
	}
	d := &doors{token: token, hosts: map[string]bool{}, prefix: prefix}
	d.hosts[strings.ToLower(net.JoinHostPort(host, port))] = true
	d.hosts["localhost:"+port] = true
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		// Listening on every address: the loopback names still work.
		d.hosts["127.0.0.1:"+port] = true
		d.hosts["[::1]:"+port] = true
	}
	for _, h := range extra {
		d.hosts[strings.ToLower(h)] = true
	}
	return d, nil
}

// hostOK is the DNS-rebinding check, applied to every request.
func (d *doors) hostOK(r *http.Request) bool {
	return d.hosts[strings.ToLower(r.Host)]
}

// tokenOK reports whether r carries the run's token in its header.
func (d *doors) tokenOK(r *http.Request) bool {
	got := r.Header.Get(TokenHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(d.token)) == 1
}

// sameOrigin reports whether r comes from the dashboard's own page. A browser
// sets Origin on every POST, and Sec-Fetch-Site on every request; both must
// agree when both are there, and one of them must be.
func (d *doors) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	origin := r.Header.Get("Origin")
	if site != "" && site != "same-origin" {
		return false
	}
	if origin != "" {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return site != "" || origin != ""
}

// checkMutation returns why a state-changing request is refused, or "".
func (d *doors) checkMutation(r *http.Request) string {
	switch {
	case !d.hostOK(r):
		return hostRefusal(r)
	case !d.sameOrigin(r):
		return "refused: not sent by the dashboard's own page (Origin " + quoteOr(r.Header.Get("Origin")) +
			", Sec-Fetch-Site " + quoteOr(r.Header.Get("Sec-Fetch-Site")) + ")"
	case !d.tokenOK(r):
		return "refused: missing or wrong dashboard token; open the URL with #token=… that devcluster up printed (devcluster dashboard prints it again)"
	}
	return ""
}

func hostRefusal(r *http.Request) string {
	return "refused: Host " + quoteOr(r.Host) + " is not this dashboard's address (DNS rebinding?); open it as http://localhost:PORT or the address devcluster up printed"
}

func quoteOr(s string) string {
	if s == "" {
		return "absent"
	}
	return fmt.Sprintf("%q", s)
}

// secureHeaders keep the page from being framed (clickjacking its buttons),
// from loading anything but its own assets, and the token out of Referer.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}
