// Package proxy is devcluster's HTTP load balancer: pools of instances per
// balanced process, HAProxy's balancing strategies, active and passive health
// checks, retries, sticky sessions, WebSocket tunnels and streaming; HTTP
// faults put on purpose (fault.go), HAProxy's drain (drain.go), request ids,
// Server-Timing and a per-request hook for the access log and the dashboard
// (requestid.go, reqinfo.go), and the proxy's own pages (local.go).
//
// Plain HTTP/1.1 requests take a lean forwarding path (fastpath.go) in which each
// client connection owns its backend connections: no goroutine hand-off and no
// http.Transport between the client's socket and the instance's. Message heads are
// parsed into reused byte slices (head.go) and, on Linux, sockets are read and
// written with raw system calls (sockio_linux.go): a keep-alive request allocates
// nothing.
package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// Defaults for the zero values of Config and HealthConfig. Those that procfile
// documents and cmd prints live in internal/defaults; the names here are kept
// for the proxy's callers. The others are the proxy's own.
const (
	DefaultListen          = defaults.Listen
	DefaultRetries         = defaults.Retries
	DefaultConnectTimeout  = defaults.ConnectTimeout
	DefaultResponseTimeout = defaults.ResponseTimeout
	DefaultWaitForBackend  = defaults.WaitForBackend
	DefaultCookieName      = defaults.CookieName
	DefaultHealthInterval  = defaults.HealthInterval
	DefaultHealthTimeout   = defaults.HealthTimeout
	DefaultHealthRise      = defaults.HealthRise
	DefaultHealthFall      = defaults.HealthFall

	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = defaults.IdleTimeout // nginx keepalive_timeout 75s, HAProxy timeout http-keep-alive
	// DefaultMaxConn caps the client connections served at once, as HAProxy's
	// maxconn: each may hold a descriptor per instance besides its own, and
	// Go raises the soft descriptor limit to the hard one at start.
	DefaultMaxConn            = defaults.MaxConn
	DefaultMaxHeaderBytes     = defaults.MaxHeaderBytes // HAProxy's tune.bufsize 16k, nginx large_client_header_buffers 4×8k
	DefaultShutdownTimeout    = 5 * time.Second
	DefaultBodyTimeout        = defaults.BodyTimeout        // nginx client_body_timeout
	DefaultClientWriteTimeout = defaults.ClientWriteTimeout // HAProxy timeout client, nginx send_timeout
)

// Config configures a Proxy. Zero values take the defaults above.
type Config struct {
	Listen     string // default 127.0.0.1:8080
	Strategy   string // roundrobin (default), leastconn, random, source, uri, first
	Sticky     string // "" | cookie | source
	CookieName string // for Sticky "cookie"; default DEVCLUSTER_SRV
	Retries    int    // default 3 (set -1 for 0)
	// RetryOn lists when a request is sent again (see retry.go): conn-failure
	// (nil: only this), empty-response, response-timeout, 503, or none.
	RetryOn         []string
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration // time to the response header; then 504
	// StallTimeout: an instance owing response heads this long while answering
	// nothing is checked and, if it does not answer, leaves rotation (stall.go).
	// Default 0.5s; negative: off.
	StallTimeout      time.Duration
	ReadHeaderTimeout time.Duration // against slow clients
	IdleTimeout       time.Duration // keep-alive client connections; default 60s
	MaxConn           int           // client connections served at once; more wait in the backlog (default 4096)
	MaxHeaderBytes    int           // larger request heads get 431 (default 64 KiB)
	MaxRequestLine    int           // longer request lines get 414 (default 8 KiB; negative: none)
	MaxHeaderFields   int           // more header fields get 431 (default 100; negative: none)
	// BodyTimeout: each read of a request body must bring data within it, else
	// 408 (nginx client_body_timeout). Default 60s; negative: none.
	BodyTimeout time.Duration
	// ClientWriteTimeout: each write to a client must progress within it, else the
	// connection is closed (HAProxy timeout client, nginx send_timeout). Default
	// 60s; negative: none.
	ClientWriteTimeout time.Duration
	WaitForBackend     time.Duration // hold requests this long when no instance is ready (default 5s)
	ShutdownTimeout    time.Duration // Serve waits this long for in-flight requests after ctx is done
	Log                io.Writer     // one line per health state change; nil discards
	Now                func() time.Time

	// FaultHeaders honours X-Devcluster-Fault request headers ("delay=200ms",
	// "fail=503", "reset", "timeout", comma-separated) for automated tests. The
	// header is never passed to an instance, honoured or not.
	FaultHeaders bool
	// Seed seeds every random choice (the random strategy, fault percentages
	// and jitter: seed.go), so that a run can be repeated; 0 picks one, which
	// Seed() reports.
	Seed uint64
	// OnRequest, when set, is called once per request after its response has
	// ended (requests served by Local, and heads that could not be parsed,
	// excepted), in the client connection's
	// goroutine, so it must be quick: the access log and the dashboard's
	// recorder. Nil costs nothing.
	OnRequest func(RequestInfo)
	// Local serves the requests whose path is under LocalPrefix on the proxy's
	// own listener (the dashboard), with no response timeout and with
	// streaming (http.Flusher). They never reach an instance.
	Local       http.Handler
	LocalPrefix string // default DefaultLocalPrefix when Local is set

	// TLSConfig, when set, makes the proxy serve HTTPS (tls.go): on HTTPSListen
	// when that is set, plain HTTP staying on Listen, else on Listen instead of
	// plain HTTP. "h2" in its NextProtos offers HTTP/2 to clients (h2.go);
	// instances are spoken to in HTTP/1.1 either way. The proxy uses a copy.
	TLSConfig *tls.Config
	// HTTPSListen: HTTPS here, beside plain HTTP on Listen (with TLSConfig).
	HTTPSListen string
	// RedirectHTTP: with HTTPSListen, the plain listener answers every request
	// with a 308 to the same URL over HTTPS.
	RedirectHTTP bool
}

// DefaultLocalPrefix is where Config.Local is served by default.
const DefaultLocalPrefix = defaults.DashboardPrefix

// HealthConfig is the active health check of a pool's instances.
type HealthConfig struct {
	Path     string // "" → TCP connect; else GET Path, 2xx/3xx is up
	Interval time.Duration
	Timeout  time.Duration
	Rise     int // good checks to come back up
	Fall     int // bad checks to go down
}

func (h HealthConfig) withDefaults() HealthConfig {
	if h.Interval <= 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Rise <= 0 {
		h.Rise = DefaultHealthRise
	}
	if h.Fall <= 0 {
		h.Fall = DefaultHealthFall
	}
	return h
}

// PoolConfig declares one balanced process.
type PoolConfig struct {
	Process string         // "web"; instance IDs "web.N" belong to it
	Prefix  string         // "/" by default; longest prefix wins
	Health  HealthConfig   // Path "" → TCP; Interval 1s, Timeout 1s, Rise 1, Fall 2
	Weight  int            // every instance's weight, also those added by scaling (default 1)
	Weights map[string]int // per-instance overrides of Weight, by instance ID
	MaxConn int            // per instance, for strategy first
	// Hosts are host names (lower case, no port) whose requests go to this
	// pool whatever their path (hosts.go). With Hosts and no Prefix, the
	// pool is reached by host only.
	Hosts []string
}

// Proxy balances HTTP requests over the ready instances of its pools. Enable,
// Drain and Remove satisfy supervisor.Balancer.
type Proxy struct {
	cfg    Config
	dialer net.Dialer
	check  *http.Client
	sticky *stickiness

	logMu sync.Mutex

	mu     sync.Mutex
	pools  atomic.Pointer[[]*pool]          // sorted by prefix length, longest first
	hosts  atomic.Pointer[map[string]*pool] // PoolConfig.Hosts; nil: none (hosts.go)
	byProc map[string]*pool
	byID   map[string]*pool // instance ID → its pool, recorded by Enable

	runMu sync.Mutex
	run   *runState // non-nil while Serve runs

	connMu sync.Mutex
	conns  map[*clientConn]struct{}

	bufs bufPools

	staleAfter time.Duration // see defaultStaleAfter; tests shorten it
	retryOn    retryOn       // Config.RetryOn

	checksSkipped atomic.Bool // a check met a local resource error (localerror.go); logged once

	dice *dice // every random choice (seed.go)

	faultMu     sync.Mutex                          // serialises writers of faults
	faultChange chan struct{}                       // closed at the next change of faults; faultMu
	faults      atomic.Pointer[map[string]faultSet] // by instance id; nil: none (fault.go)

	idPrefix string        // of generated request ids (requestid.go)
	reqSeq   atomic.Uint64 // their counter

	tls *tls.Config // Config.TLSConfig as served (tls.go)

	h2Mu    sync.Mutex
	h2Conns map[net.Conn]struct{} // HTTP/2 connections open, for shutdown (h2.go)

	// portableConns makes Linux use netConns, the implementation of every other
	// OS, so that its tests run here too.
	portableConns bool
}

// runState owns the health-check goroutines of one Serve call.
type runState struct {
	ctx context.Context
	wg  sync.WaitGroup
	h2  *h2Server // with TLSConfig
}

// New validates cfg. It starts nothing.
func New(cfg Config) (*Proxy, error) {
	cfg.setDefaults()
	if cfg.Local != nil && cfg.LocalPrefix == "" {
		cfg.LocalPrefix = DefaultLocalPrefix
	}
	if pre := cfg.LocalPrefix; pre != "" && (!strings.HasPrefix(pre, "/") || pre == "/") {
		return nil, fmt.Errorf("proxy: local prefix %q: want a path under / such as /_devcluster/ (requests under it never reach the app)", pre)
	}
	if _, err := newSelector(cfg.Strategy, 0, nil); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	sticky, err := newStickiness(cfg.Sticky, cfg.CookieName)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	retryOn, err := parseRetryOn(cfg.RetryOn)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &Proxy{
		cfg: cfg,
		// No TCP keep-alive probes on loopback: they cost four setsockopt calls per
		// dial, which matters when an instance closes every connection (Flask).
		dialer: net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: -1},
		sticky: sticky,
		byProc: map[string]*pool{},
		byID:   map[string]*pool{},
		conns:  map[*clientConn]struct{}{},

		staleAfter: defaultStaleAfter,
		retryOn:    retryOn,
		idPrefix:   newIDPrefix(),
		dice:       newDice(cfg.Seed),
	}
	if cfg.TLSConfig != nil {
		p.tls = serverTLS(cfg.TLSConfig)
		p.h2Conns = map[net.Conn]struct{}{}
	}
	p.check = &http.Client{
		Transport: &http.Transport{
			Proxy:             nil, // health checks go straight to loopback
			DialContext:       p.dialer.DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	p.pools.Store(&[]*pool{})
	return p, nil
}

// setDefaults gives cfg's zero values their defaults.
func (cfg *Config) setDefaults() {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	setDefault(&cfg.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&cfg.ResponseTimeout, DefaultResponseTimeout)
	setDefault(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.WaitForBackend, DefaultWaitForBackend)
	setDefault(&cfg.ShutdownTimeout, DefaultShutdownTimeout)
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.ClientWriteTimeout == 0 {
		cfg.ClientWriteTimeout = DefaultClientWriteTimeout
	}
	if cfg.MaxConn <= 0 {
		cfg.MaxConn = DefaultMaxConn
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	cfg.MaxRequestLine = limitDefault(cfg.MaxRequestLine, DefaultMaxRequestLine)
	cfg.MaxHeaderFields = limitDefault(cfg.MaxHeaderFields, DefaultMaxHeaderFields)
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// limitDefault: 0 is def, negative is no limit (0 inside).
func limitDefault(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func (p *Proxy) now() time.Time { return p.cfg.Now() }

func (p *Proxy) logf(format string, args ...any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	fmt.Fprintf(p.cfg.Log, format+"\n", args...)
}

// AddPool declares a balanced process. Instances are added with Enable.
func (p *Proxy) AddPool(pc PoolConfig) error {
	if pc.Process == "" || strings.Contains(pc.Process, ".") {
		return fmt.Errorf("add pool: bad process name %q", pc.Process)
	}
	if pc.Prefix == "" && len(pc.Hosts) == 0 {
		pc.Prefix = "/"
	}
	if pc.Prefix != "" && !strings.HasPrefix(pc.Prefix, "/") {
		return fmt.Errorf("add pool %s: prefix %q must start with /", pc.Process, pc.Prefix)
	}
	sel, err := newSelector(p.cfg.Strategy, pc.MaxConn, p.dice)
	if err != nil {
		return fmt.Errorf("add pool %s: %w", pc.Process, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byProc[pc.Process]; ok {
		return fmt.Errorf("add pool %s: already added", pc.Process)
	}
	if err := p.checkHosts(pc); err != nil {
		return err
	}
	old := *p.pools.Load()
	for _, o := range old {
		if pc.Prefix != "" && o.cfg.Prefix == pc.Prefix {
			return fmt.Errorf("add pool %s: prefix %s is already balanced to %s", pc.Process, pc.Prefix, o.cfg.Process)
		}
	}
	pl := newPool(p, pc, sel)
	pools := append(append([]*pool(nil), old...), pl)
	sort.SliceStable(pools, func(i, j int) bool { return len(pools[i].cfg.Prefix) > len(pools[j].cfg.Prefix) })
	p.byProc[pc.Process] = pl
	p.pools.Store(&pools)
	p.addHosts(pl)
	return nil
}

// poolOf returns the pool Enable put id in, or nil.
func (p *Proxy) poolOf(id string) *pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byID[id]
}

// Enable puts instance id ("web.2") of process ("web") at addr into the process's
// rotation. An instance whose process has no pool is ignored. Enabling again (after
// Drain, or with a new address) starts a fresh incarnation: cached connections are
// dropped.
func (p *Proxy) Enable(process, id, addr string) {
	p.mu.Lock()
	pl := p.byProc[process]
	if pl != nil {
		p.byID[id] = pl
	}
	p.mu.Unlock()
	if pl != nil {
		pl.enable(id, addr)
	}
}

// Drain takes id out of rotation and waits until its in-flight requests have
// finished or ctx is done. It stays out until the next Enable.
func (p *Proxy) Drain(ctx context.Context, id string) error {
	pl := p.poolOf(id)
	if pl == nil {
		return nil
	}
	if err := pl.drain(ctx, id); err != nil {
		return fmt.Errorf("drain %s: %w", id, err)
	}
	return nil
}

// SetWeight changes the weight of instance id (1 to 256, as HAProxy's) while it
// runs; it keeps it across Drain and Enable, until Remove.
func (p *Proxy) SetWeight(id string, w int) error {
	b, err := p.backendOf(id)
	if err != nil {
		return fmt.Errorf("set weight: %w", err)
	}
	if w < 1 || w > maxWeight {
		return fmt.Errorf("set weight: weight %d for %s: want 1 to %d", w, id, maxWeight)
	}
	b.pool.setWeight(b, w)
	return nil
}

// SetMaint takes instance id out of rotation and stops checking it (on), as
// HAProxy's "set server state maint" does, or puts it back (off).
func (p *Proxy) SetMaint(id string, on bool) error {
	b, err := p.backendOf(id)
	if err != nil {
		return fmt.Errorf("set maint: %w", err)
	}
	b.pool.setMaint(b, on)
	return nil
}

// backendOf returns the backend Enable made for id.
func (p *Proxy) backendOf(id string) (*backend, error) {
	if pl := p.poolOf(id); pl != nil {
		pl.mu.Lock()
		b := pl.backends[id]
		pl.mu.Unlock()
		if b != nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no instance %q in the balancer (it is enabled once it is ready)", id)
}

// Remove takes id out of rotation and forgets it.
func (p *Proxy) Remove(id string) {
	p.mu.Lock()
	pl := p.byID[id]
	delete(p.byID, id)
	p.mu.Unlock()
	if pl != nil {
		pl.remove(id)
	}
}

// route returns the pool with the longest prefix matching path, by whole path
// segments ("/api" matches "/api" and "/api/x", not "/apix"). Pools reached by
// host only have none (routeRequest in hosts.go picks by Host first).
func (p *Proxy) route(path string) *pool {
	for _, pl := range *p.pools.Load() {
		pre := pl.cfg.Prefix
		if pre == "" { // reached by host only (hosts.go)
			continue
		}
		if pre == "/" {
			return pl
		}
		if strings.HasPrefix(path, pre) && (len(path) == len(pre) || pre[len(pre)-1] == '/' || path[len(pre)] == '/') {
			return pl
		}
	}
	return nil
}
