// Package procfile is devcluster's manifest model: it reads a Procfile
// (foreman/honcho syntax), a devcluster.yaml or .env files, validates them,
// reports every problem as FILE:LINE: message, and plans which instances run
// on which ports.
//
// The package does no exec, opens no sockets and reads no environment
// variables, so that what a manifest means depends on the manifest alone.
package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
)

// Defaults applied by the consumers of a Manifest when a field is left zero.
// They are aliases of internal/defaults, the one home of every default, kept
// under these names because cmd and the tests use them.
const (
	DefaultListen      = defaults.Listen
	DefaultStrategy    = defaults.Strategy
	DefaultCookie      = defaults.CookieName
	DefaultRetries     = defaults.Retries
	DefaultRestart     = defaults.Restart
	DefaultStopSignal  = defaults.StopSignal
	DefaultStopTimeout = defaults.StopTimeout
	DefaultBasePort    = defaults.BasePort
)

// Manifest is a parsed Procfile or devcluster.yaml.
type Manifest struct {
	Path      string     // file it was read from (as given)
	Dir       string     // directory of Path; commands run here
	Format    string     // "procfile" or "yaml"
	Processes []*Process // manifest order
	Proxy     ProxyConfig
	// Warnings are what the parser accepted but the user should know, one
	// "FILE:LINE: message" each, in line order: settings read but not (yet)
	// acted upon. cmd prints them before anything starts, and check lists them.
	Warnings []string
}

// ProxyConfig is the top-level proxy: section of devcluster.yaml.
type ProxyConfig struct {
	Listen          string // "" → defaults.Listen "127.0.0.1:8080"
	Strategy        string // "" → "roundrobin"; roundrobin|leastconn|random|source|uri|first
	Sticky          string // "" | "cookie" | "source"
	Cookie          string // cookie name for sticky: cookie; "" → "DEVCLUSTER_SRV"
	Retries         *int   // nil → 3
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration // 0 → defaults
	Line            int           // line of the proxy: key (yaml) for errors

	// The fields below map one to one onto proxy.Config's of the same name,
	// whose zero values take the defaults of internal/defaults: the zero value
	// is "not written". Off (-1) is "turned off" (written off or 0), kept
	// only where the proxy has a way to turn the setting off.

	// RetryOn lists when a request is sent to another instance, a subset of
	// defaults.RetryOnValues in file order; nil → defaults.RetryOn()
	// (conn-failure); []string{"none"} → never.
	RetryOn            []string
	MaxConn            int           // client connections at once; 0 → defaults.MaxConn
	IdleTimeout        time.Duration // idle keep-alive clients; 0 → defaults.IdleTimeout; never Off
	BodyTimeout        time.Duration // request-body inactivity, then 408; 0 → default; Off → none
	ClientWriteTimeout time.Duration // a write to a client; 0 → default; Off → none
	StallTimeout       time.Duration // stall detection; 0 → default; Off → no stall detection
	MaxRequestLine     int           // bytes, then 414; 0 → defaults.MaxRequestLine; Off → no limit
	MaxHeaderBytes     int           // bytes of a request head, then 431; 0 → default; never Off
	MaxHeaderFields    int           // header fields, then 431; 0 → default; Off → no limit
	FaultHeaders       bool          // honour X-Devcluster-Fault request headers (off by default)
	Seed               uint64        // proxy.seed: every random choice of the proxy repeats; 0 → one picked
	DashboardPrefix    string        // "" → defaults.DashboardPrefix; starts and ends with "/"
	DashboardOff       bool          // dashboard: false; no dashboard, its prefix goes to the app
	AccessLog          bool          // access_log: true; up --access-log, when given, overrides

	// HTTPS and host-named routes (issue 23; yaml_proxy_tls.go).

	TLS TLS // proxy.tls; TLS.On also when https_listen is written
	// HTTPSListen is https_listen: HTTPS on this HOST:PORT, plain HTTP kept on
	// Listen. "" with TLS.On: HTTPS replaces plain HTTP on Listen.
	HTTPSListen string
	// RedirectHTTP is redirect_http: true: the plain listener answers every
	// request with 308 to the same URL on HTTPSListen. Only with HTTPSListen.
	RedirectHTTP bool
	// Hosts is proxy.hosts in file order: requests whose Host (port dropped,
	// lower-cased) is Host go to Process's instances, beside the path prefixes.
	Hosts []HostRoute
}

// TLS is proxy.tls: whether the proxy serves HTTPS, and with which certificate.
type TLS struct {
	On bool // tls: true, tls: {cert, key}, or https_listen written
	// Cert and Key are the user's own certificate (PEM, the chain after it) and
	// key, resolved against the manifest's directory; both "" → the local CA's
	// leaf (package localca), which names localhost, 127.0.0.1, ::1 and every
	// host of Hosts.
	Cert, Key string
	Line      int // line of tls: (or of https_listen: when that turned TLS on)
}

// HostRoute is one entry of proxy.hosts.
type HostRoute struct {
	Host    string // lower-case DNS name, no port: "api.localhost"
	Process string // a balanced process of the manifest
	Line    int
}

// HostNames lists the hosts of proxy.hosts, for the local CA's leaf.
func (pc ProxyConfig) HostNames() []string {
	names := make([]string, len(pc.Hosts))
	for i, h := range pc.Hosts {
		names[i] = h.Host
	}
	return names
}

// Off, in a duration or limit of ProxyConfig, means the setting was turned
// off in the manifest ("off" or 0); proxy.Config reads a negative value the
// same way, so cmd copies the fields as they are.
const Off = -1

// Process is one named command of the manifest, run as one or more instances.
type Process struct {
	Name        string
	Command     string
	Line        int               // manifest line where the process is defined
	Instances   int               // 0 = not set in manifest
	Port        int               // pinned base port; 0 = automatic
	Env         map[string]string // manifest env (yaml)
	Restart     string            // "always" (default) | "on-failure" | "never"
	StopSignal  string            // one of signals.Names(), "TERM" by default; stored without "SIG"
	StopTimeout time.Duration     // 0 → 5s
	Health      Health            // Path "" = TCP check
	Balanced    *bool             // nil → default: balanced iff Name == "web"
	Prefix      string            // path prefix it is balanced under; "" → "/"
	Weight      int               // 0 → 1
	MaxConn     int               // 0 → unlimited (used by strategy first)
	Watch       Watch
	Reload      Reload // how a reload replaces the instances: waves of Reload.Resolve(instances)
	// DependsOn names the processes whose instances must all be ready before
	// this one's start (depends_on:), in file order; DependsOnLine is its line.
	DependsOn     []string
	DependsOnLine int
	Ready         Ready // ready: the readiness rule of a process that is not HTTP
}

// Ready is a process's ready: rule, at most one of its fields set. Without
// one, a balanced process is ready when its port accepts connections (and its
// health path answers), and any other is "running" once started: nothing
// says it is ready.
type Ready struct {
	TCP     int    // ready once 127.0.0.1:TCP accepts a connection
	Command string // ready once sh -c Command exits 0 (run again until then)
	Log     string // ready once a line of the process's output matches this regexp
	Line    int
}

// Set reports whether r holds a rule.
func (r Ready) Set() bool { return r.TCP > 0 || r.Command != "" || r.Log != "" }

// Health configures the readiness check of a process's instances.
type Health struct {
	Path              string
	Interval, Timeout time.Duration
	Rise, Fall        int
}

// Watch says which files, when changed, reload a process.
type Watch struct {
	Paths, Include, Exclude []string
	Line                    int
}

// Process returns the process with that name, or nil.
func (m *Manifest) Process(name string) *Process {
	for _, p := range m.Processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// IsBalanced reports whether the proxy sends requests to p's instances:
// as set in the manifest, else only for the process named "web" (the
// foreman convention for the process that serves HTTP).
func (m *Manifest) IsBalanced(p *Process) bool {
	if p.Balanced != nil {
		return *p.Balanced
	}
	return p.Name == "web"
}

// EnvFile returns the path of the .env file next to the manifest, built from
// Path as the user gave it ("Procfile" → ".env", "app/Procfile" →
// "app/.env"), so that its errors read ".env:3: …" like the manifest's own,
// not an absolute path the user never typed.
func (m *Manifest) EnvFile() string {
	return filepath.Join(filepath.Dir(m.Path), ".env")
}

// manifestNames are the files Find looks for, in order of preference.
func manifestNames() []string { return []string{"devcluster.yaml", "devcluster.yml", "Procfile"} }

// Find returns the manifest in dir: devcluster.yaml, devcluster.yml, then Procfile.
func Find(dir string) (string, error) {
	for _, name := range manifestNames() {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err == nil && !fi.IsDir() {
			return path, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("look for a manifest: %w", err)
		}
	}
	return "", fmt.Errorf("no manifest in %s: looked for %s; run \"devcluster init\" to write one, or pass -f FILE",
		dir, strings.Join(manifestNames(), ", "))
}

// Load reads and parses the manifest at path: .yaml and .yml files as
// devcluster.yaml, anything else as a Procfile.
func Load(path string) (*Manifest, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m *Manifest
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		m, err = ParseYAML(path, bytes.NewReader(data))
	default:
		m, err = ParseProcfile(path, bytes.NewReader(data))
	}
	if err != nil {
		return nil, err
	}
	m.Path = path
	m.Dir = filepath.Dir(path)
	if abs, err := filepath.Abs(m.Dir); err == nil {
		m.Dir = abs
	}
	return m, nil
}
