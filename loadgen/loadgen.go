// Package loadgen is devcluster load's generator: HTTP/1.1 requests to one URL
// from a number of virtual users, closed loop (each user sends its next request
// when the last is answered, as wrk and hey do) or open loop (requests sent at
// a fixed rate whatever the answers, as wrk2 and k6's arrival rate do), with
// latencies measured from the intended send time in the open loop so that a
// stalled instance shows in the percentiles instead of slowing the senders
// (coordinated omission). Each user keeps its own cookies (a session per user)
// and its own connection. It counts answers per instance from the proxy's
// X-Devcluster-Instance header. It is always bounded: by a duration, a count,
// or both. cmd prints what it returns.
package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says what load to send.
type Config struct {
	URL    string      // http:// or https://
	Method string      // default GET
	Header http.Header // added to every request (Host too, if set)
	Body   []byte      // sent with Content-Length

	// Connections is the number of virtual users, each with its own
	// connection and cookies: in the closed loop each has one request in
	// flight; in the open loop they are the most requests in flight at once.
	Connections int
	// Rate, when > 0, makes the loop open: requests are due at this many per
	// second, evenly spaced, answered or not.
	Rate float64

	Duration time.Duration // stop sending after this long (0: no limit)
	Count    int           // stop after this many requests (0: no limit)

	KeepAlive bool          // reuse connections; false sends Connection: close
	Cookies   bool          // each user keeps the cookies it is sent
	Timeout   time.Duration // for each request's answer (default 10s)

	// InstanceHeader names the header that says which instance answered
	// (default X-Devcluster-Instance).
	InstanceHeader string
	// TLS is the client's TLS settings for https:// URLs (nil: the system's
	// roots, ServerName from the URL).
	TLS *tls.Config

	// Every, when set, is called about once a second from Run's goroutine
	// with the totals so far (the live view).
	Every func(Progress)
	Now   func() time.Time // default time.Now
}

// ErrUnbounded is Config's refusal to send load without an end.
var ErrUnbounded = errors.New("load needs a duration or a count: -d 10s or -n 1000")

// Generator sends the load of one Config; New checks it.
type Generator struct {
	cfg       Config
	addr      string // host:port to dial
	tls       *tls.Config
	head      []byte // the request head up to the Cookie header
	tail      []byte // the rest of the head and the body
	instLower []byte
	now       func() time.Time

	mu       sync.Mutex
	interned map[string]string
}

// New checks cfg and prepares the request.
func New(cfg Config) (*Generator, error) {
	if cfg.Duration <= 0 && cfg.Count <= 0 {
		return nil, ErrUnbounded
	}
	if cfg.Duration < 0 || cfg.Count < 0 {
		return nil, fmt.Errorf("load: a negative duration or count (%s, %d)", cfg.Duration, cfg.Count)
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 1
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("load: rate %v/s is negative", cfg.Rate)
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.InstanceHeader == "" {
		cfg.InstanceHeader = "X-Devcluster-Instance"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("load: URL %q: %v", cfg.URL, err)
	}
	g := &Generator{cfg: cfg, now: cfg.Now, instLower: []byte(strings.ToLower(cfg.InstanceHeader)), interned: map[string]string{}}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		g.tls = cfg.TLS
		if g.tls == nil {
			g.tls = &tls.Config{}
		}
		g.tls = g.tls.Clone()
		if g.tls.ServerName == "" {
			g.tls.ServerName = u.Hostname()
		}
		g.tls.NextProtos = []string{"http/1.1"}
	default:
		return nil, fmt.Errorf("load: URL %q: want http:// or https://", cfg.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("load: URL %q has no host", cfg.URL)
	}
	g.addr = net.JoinHostPort(u.Hostname(), port)
	if err := g.prepare(u); err != nil {
		return nil, err
	}
	return g, nil
}

// prepare writes the request head once; only the Cookie header varies.
func (g *Generator) prepare(u *url.URL) error {
	target := u.RequestURI()
	if strings.ContainsAny(target, " \r\n") || strings.ContainsAny(g.cfg.Method, " \r\n:") {
		return fmt.Errorf("load: method %q or path %q has a space or line break", g.cfg.Method, target)
	}
	host := u.Host
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", g.cfg.Method, target)
	names := make([]string, 0, len(g.cfg.Header))
	for k := range g.cfg.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	var extra strings.Builder
	for _, k := range names {
		for _, v := range g.cfg.Header[k] {
			if strings.ContainsAny(k+v, "\r\n") {
				return fmt.Errorf("load: header %q has a line break", k)
			}
			if strings.EqualFold(k, "Host") {
				host = v
				continue
			}
			fmt.Fprintf(&extra, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Host: %s\r\nUser-Agent: devcluster-load\r\n", host)
	b.WriteString(extra.String())
	g.head = []byte(b.String())
	var t strings.Builder
	if len(g.cfg.Body) > 0 || g.cfg.Method == http.MethodPost || g.cfg.Method == http.MethodPut || g.cfg.Method == http.MethodPatch {
		t.WriteString("Content-Length: " + strconv.Itoa(len(g.cfg.Body)) + "\r\n")
	}
	if !g.cfg.KeepAlive {
		t.WriteString("Connection: close\r\n")
	}
	t.WriteString("\r\n")
	t.Write(g.cfg.Body)
	g.tail = []byte(t.String())
	return nil
}

// appendRequest appends the request with jar's cookies to b.
func (g *Generator) appendRequest(b []byte, jar *cookieJar) []byte {
	b = append(b, g.head...)
	if len(jar.header) > 0 {
		b = append(b, "Cookie: "...)
		b = append(b, jar.header...)
		b = append(b, "\r\n"...)
	}
	return append(b, g.tail...)
}

// intern returns the string for an instance name, allocated once.
func (g *Generator) intern(v []byte) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.interned[string(v)]; ok {
		return s
	}
	s := string(v)
	g.interned[s] = s
	return s
}
