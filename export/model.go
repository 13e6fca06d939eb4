// Package export turns a devcluster manifest into the configuration of the real
// infrastructure it stands for: an HAProxy or nginx balancer, a docker compose
// project, Kubernetes objects, systemd units. Each format has one renderer over
// the typed Cluster model built here, so that every renderer sees the same
// defaults, the same port plan and the same instance names as devcluster up, and
// every value taken from the manifest is quoted by the one function that knows
// the target's syntax. A setting a format cannot express becomes a Warning,
// never a silent omission.
package export

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/procfile"
)

// Options are what the command line adds to the manifest. Zero values mean
// devcluster up's defaults.
type Options struct {
	Manifest   string         // manifest path as the user gave it, for the header
	Invocation string         // the command that produced the files, for the header
	Formation  map[string]int // -m web=3
	BasePort   int            // --port; 0 → defaults.BasePort
	Listen     string         // --listen; "" → proxy.listen, then defaults.Listen
	Strategy   string         // --strategy; "" → proxy.strategy, then defaults.Strategy

	// Env holds the assignments of the env files devcluster up would read;
	// EnvFiles are their absolute paths, in order, those that exist
	// (systemd's EnvironmentFile=, compose's env_file:).
	Env      []procfile.EnvVar
	EnvFiles []string

	App        string // name prefix of units, services and objects; "" → the manifest's directory name
	Image      string // compose and kubernetes image; "" → APP:latest
	Balancer   string // compose and swarm: "haproxy" (default) or "nginx"
	Dockerfile bool   // compose and swarm: also write a Dockerfile (gunicorn) when the app has none

	// BaseImage is the generated Dockerfile's FROM; "" → DefaultBaseImage.
	// BalancerImage runs the balancer service; "" → the official haproxy or
	// nginx image. Both let the exports run with no registry, from an image
	// scripts/base-image.sh prepared.
	BaseImage, BalancerImage string
	Ingress                  string // kubernetes: also write an Ingress for this host
	// TLSCert and TLSKey are the local CA's leaf, for a manifest with tls: true
	// (cmd passes localca's paths in: export imports procfile only).
	TLSCert, TLSKey string
	StatsListen     string // haproxy stats page; "" → 127.0.0.1:8404
	WorkDir         string // systemd WorkingDirectory=; "" → the manifest's directory
	OutDir          string // where the files go, for paths relative to it (compose build context)
}

// Cluster is the manifest with every default applied and the formation
// planned: the single model every renderer reads.
type Cluster struct {
	App        string
	Manifest   string // as given
	Invocation string
	Dir        string // manifest directory (absolute)

	Listen      string // HOST:PORT of the balancer
	ListenHost  string
	ListenPort  int
	StatsListen string
	Strategy    string
	Sticky      string // "", "cookie" or "source"
	Cookie      string
	Retries     int // attempts on another instance after a connection failure

	ConnectTimeout, ResponseTimeout time.Duration

	Processes []*Process
	Env       []EnvPair // from the env files, in file order, later keys winning

	TLS   *TLS        // HTTPS at the balancer; nil: plain HTTP only (tls.go)
	Hosts []HostRoute // proxy.hosts, in file order

	opts Options
}

// EnvPair is one environment variable, in a stable order.
type EnvPair struct{ Key, Value string }

// Process is one process of the manifest with its defaults applied.
type Process struct {
	Name        string
	Slug        string // DNS-1123 form of Name for Kubernetes and compose
	Command     string // as written
	Count       int    // instances in the formation
	Port        int    // port of instance 1; instance i listens on Port+i-1
	Balanced    bool
	Prefix      string
	Weight      int
	MaxConn     int
	Env         []EnvPair // manifest env, sorted by key
	Restart     string
	StopSignal  string // without "SIG"
	StopTimeout time.Duration
	Health      Health
	Rollout     Rollout
	Instances   []Instance
	Watched     bool // the manifest sets watch: (a development feature no target has)
	Standby     bool // reload.standby: devcluster's warm standbys, which no target has
}

// Health is a process's check with defaults applied; Path "" is a TCP check.
type Health struct {
	Path              string
	Interval, Timeout time.Duration
	Rise, Fall        int
	Set               bool // the manifest configures health
}

// Rollout is how a process's instances are replaced on reload, as devcluster
// up does it: at most MaxUnavailable out of rotation and MaxSurge extra at once
// (one at a time, no extra, unless the manifest's reload: says otherwise).
// Set says the manifest wrote reload:.
type Rollout struct {
	MaxUnavailable, MaxSurge int
	Set                      bool
}

// Instance is one planned instance: "web.2" on 127.0.0.1:5001.
type Instance struct {
	ID    string // "web.2"
	Index int
	Port  int
}

// Build applies the options and devcluster's defaults to m and plans the
// formation. It returns an error for input no format could write safely
// (a listen address that is not HOST:PORT, an unknown process in -m).
func Build(m *procfile.Manifest, opts Options) (*Cluster, error) {
	c := &Cluster{
		App:             opts.App,
		Manifest:        opts.Manifest,
		Invocation:      opts.Invocation,
		Dir:             m.Dir,
		Listen:          firstNonEmpty(opts.Listen, m.Proxy.Listen, defaults.Listen),
		StatsListen:     firstNonEmpty(opts.StatsListen, defaults.StatsListen),
		Strategy:        firstNonEmpty(opts.Strategy, m.Proxy.Strategy, defaults.Strategy),
		Sticky:          m.Proxy.Sticky,
		Cookie:          firstNonEmpty(m.Proxy.Cookie, defaults.CookieName),
		Retries:         defaults.Retries,
		ConnectTimeout:  orDuration(m.Proxy.ConnectTimeout, defaults.ConnectTimeout),
		ResponseTimeout: orDuration(m.Proxy.ResponseTimeout, defaults.ResponseTimeout),
		opts:            opts,
	}
	if c.Manifest == "" {
		c.Manifest = m.Path
	}
	if c.App == "" {
		c.App = slug(filepath.Base(m.Dir))
	}
	if c.App == "" {
		c.App = "app"
	}
	if m.Proxy.Retries != nil {
		c.Retries = *m.Proxy.Retries
	}
	if !slices.Contains(defaults.Strategies(), c.Strategy) {
		return nil, fmt.Errorf("export: unknown strategy %q; use one of %s", c.Strategy, strings.Join(defaults.Strategies(), ", "))
	}
	var err error
	if c.ListenHost, c.ListenPort, err = splitListen("--listen", c.Listen); err != nil {
		return nil, err
	}
	if _, _, err = splitListen("stats address", c.StatsListen); err != nil {
		return nil, err
	}
	plan, err := m.Plan(opts.Formation, opts.BasePort)
	if err != nil {
		return nil, err
	}
	for _, p := range m.Processes {
		c.Processes = append(c.Processes, newProcess(m, p, plan, opts.BasePort))
	}
	c.Env = dedupEnv(opts.Env)
	c.buildHosts(m)
	if err := c.buildTLS(m, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// newProcess applies the defaults to p; basePort is --port, for the port of a
// process the formation runs no instance of.
func newProcess(m *procfile.Manifest, p *procfile.Process, plan []procfile.Instance, basePort int) *Process {
	q := &Process{
		Name:        p.Name,
		Slug:        slug(p.Name),
		Command:     p.Command,
		Balanced:    m.IsBalanced(p),
		Prefix:      firstNonEmpty(p.Prefix, "/"),
		Weight:      p.Weight,
		MaxConn:     p.MaxConn,
		Restart:     firstNonEmpty(p.Restart, defaults.Restart),
		StopSignal:  strings.TrimPrefix(strings.ToUpper(firstNonEmpty(p.StopSignal, defaults.StopSignal)), "SIG"),
		StopTimeout: orDuration(p.StopTimeout, defaults.StopTimeout),
		Watched:     len(p.Watch.Paths)+len(p.Watch.Include)+len(p.Watch.Exclude) > 0 || p.Watch.Line > 0,
		Standby:     p.Reload.Standby,
	}
	if q.Weight == 0 {
		q.Weight = 1
	}
	q.Health = Health{
		Path:     p.Health.Path,
		Interval: orDuration(p.Health.Interval, defaults.HealthInterval),
		Timeout:  orDuration(p.Health.Timeout, defaults.HealthTimeout),
		Rise:     orInt(p.Health.Rise, defaults.HealthRise),
		Fall:     orInt(p.Health.Fall, defaults.HealthFall),
		Set:      p.Health != (procfile.Health{}),
	}
	for _, in := range plan {
		if in.Process == p {
			q.Instances = append(q.Instances, Instance{ID: in.ID, Index: in.Index, Port: in.Port})
		}
	}
	q.Count = len(q.Instances)
	q.Rollout = rollout(p, q.Count)
	q.Port = m.PortFor(p, 1, basePort)
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		q.Env = append(q.Env, EnvPair{k, p.Env[k]})
	}
	return q
}

// rollout maps the manifest's reload: to counts for a process of n instances,
// with devcluster's own rounding (procfile.Reload.Resolve); a process with no
// instance is planned as one, since a rolling update of nothing still needs a
// valid strategy.
func rollout(p *procfile.Process, n int) Rollout {
	u, s := p.Reload.Resolve(max(n, 1))
	return Rollout{MaxUnavailable: u, MaxSurge: s, Set: p.Reload.Line > 0}
}

// Balanced returns the balanced processes, longest prefix first, as the proxy
// routes them (a request goes to the longest prefix that matches).
func (c *Cluster) Balanced() []*Process {
	var out []*Process
	for _, p := range c.Processes {
		if p.Balanced {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b *Process) int { return len(b.Prefix) - len(a.Prefix) })
	return out
}

// DefaultBackend is the balanced process under "/", or nil.
func (c *Cluster) DefaultBackend() *Process {
	for _, p := range c.Balanced() {
		if p.Prefix == "/" {
			return p
		}
	}
	return nil
}

// BaseEnv is what devcluster up gives every instance besides the manifest's
// env, for formats that run one process per container or unit (PORT, PS and
// DEVCLUSTER_INSTANCE are set by each format as it can).
func (p *Process) BaseEnv() []EnvPair {
	return []EnvPair{{"DEVCLUSTER_PROCESS", p.Name}, {"PYTHONUNBUFFERED", "1"}}
}

// ShellCommand is the command as devcluster's supervisor runs it under
// /bin/sh -c: a simple command is exec'd, so that the stop signal reaches the
// app itself and not a shell that would not pass it on.
func (p *Process) ShellCommand() string {
	cmd := strings.TrimSpace(p.Command)
	if strings.HasPrefix(cmd, "exec ") || strings.ContainsAny(cmd, ";&|\n()`") {
		return cmd
	}
	return "exec " + cmd
}

func splitListen(what, addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("export: %s %q is not HOST:PORT; write it like %q", what, addr, defaults.Listen)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("export: %s %q has an invalid port; use 1-65535, like %q", what, addr, defaults.Listen)
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		return "", 0, fmt.Errorf("export: %s %q: %q is neither an IP address nor a host name", what, addr, host)
	}
	return host, n, nil
}

func isHostname(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

// slug lowercases s and replaces what DNS-1123 labels do not allow by "-".
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	return out
}

// dedupEnv keeps the last assignment of each key at the place of its first.
func dedupEnv(vars []procfile.EnvVar) []EnvPair {
	var out []EnvPair
	at := map[string]int{}
	for _, v := range vars {
		if i, ok := at[v.Key]; ok {
			out[i].Value = v.Value
			continue
		}
		at[v.Key] = len(out)
		out = append(out, EnvPair{v.Key, v.Value})
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
