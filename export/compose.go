package export

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The compose file is typed structs marshalled by yaml.v3, which quotes every
// string YAML needs quoted; dollarEscape keeps compose's own $VAR
// interpolation away from the manifest's commands and values.
type composeFile struct {
	Services map[string]*composeService `yaml:"services"`
}

type composeService struct {
	Image           string            `yaml:"image,omitempty"`
	Build           *composeBuild     `yaml:"build,omitempty"`
	Command         []string          `yaml:"command,omitempty"`
	Environment     map[string]string `yaml:"environment,omitempty"`
	EnvFile         []string          `yaml:"env_file,omitempty"`
	Expose          []string          `yaml:"expose,omitempty"`
	Ports           []string          `yaml:"ports,omitempty"`
	Volumes         []string          `yaml:"volumes,omitempty"`
	DependsOn       []string          `yaml:"depends_on,omitempty"`
	Healthcheck     *composeHealth    `yaml:"healthcheck,omitempty"`
	StopSignal      string            `yaml:"stop_signal,omitempty"`
	StopGracePeriod string            `yaml:"stop_grace_period,omitempty"`
	Restart         string            `yaml:"restart,omitempty"`
	Deploy          *composeDeploy    `yaml:"deploy,omitempty"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile,omitempty"`
}

type composeHealth struct {
	Test     []string `yaml:"test"`
	Interval string   `yaml:"interval"`
	Timeout  string   `yaml:"timeout"`
	Retries  int      `yaml:"retries"`
	// StartPeriod: failures before the first good check do not count (swarm).
	StartPeriod string `yaml:"start_period,omitempty"`
}

type composeDeploy struct {
	Replicas     int            `yaml:"replicas"`
	UpdateConfig *composeUpdate `yaml:"update_config,omitempty"`
}

// composeUpdate is devcluster's reload as a rolling update (see Rollout):
// one replica at a time, the old one stopped before the new one starts.
type composeUpdate struct {
	Parallelism int    `yaml:"parallelism"`
	Order       string `yaml:"order"`
}

func composeRestart(policy string) string {
	switch policy {
	case "never":
		return "no"
	case "on-failure":
		return "on-failure"
	}
	return "always"
}

func renderCompose(c *Cluster, r *Result) error {
	commonWarnings(c, r, "compose")
	c.tlsWarnings(r, "compose")
	balancer := firstNonEmpty(c.opts.Balancer, "haproxy")
	if balancer != "haproxy" && balancer != "nginx" {
		return fmt.Errorf("--balancer %q: use haproxy or nginx", balancer)
	}
	f := composeFile{Services: map[string]*composeService{}}
	context, err := filepath.Rel(firstNonEmpty(c.opts.OutDir, c.Dir), c.Dir)
	if err != nil {
		context = c.Dir
	}
	dockerfile, err := eachService(c, f.Services, func(p *Process) (*composeService, string, error) {
		return c.composeService(p, filepath.ToSlash(context), r)
	})
	if err != nil {
		return err
	}
	if bal := c.Balanced(); len(bal) > 0 {
		if err := c.composeBalancer(&f, balancer, bal, r); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	b.WriteString(c.header("#"))
	b.WriteString("# Run: docker compose up --build   (the balancer publishes " + c.Listen + ")\n")
	if err := writeYAML(&b, f); err != nil {
		return err
	}
	r.Files = append([]File{{Name: "compose.yaml", Data: b.Bytes()}}, r.Files...)
	if dockerfile != "" {
		r.add("Dockerfile", dockerfile)
	}
	return nil
}

// composeService is one process as one service with its replicas; df is the
// Dockerfile to write for it with --dockerfile, when the app has none.
func (c *Cluster) composeService(p *Process, context string, r *Result) (s *composeService, df string, err error) {
	s = &composeService{
		Image:           firstNonEmpty(c.opts.Image, c.App+":latest"),
		Build:           &composeBuild{Context: context},
		Command:         []string{"/bin/sh", "-c", dollarEscape(p.ShellCommand())},
		Environment:     map[string]string{"PORT": itoa(p.Port)},
		Expose:          []string{itoa(p.Port)},
		StopSignal:      "SIG" + p.StopSignal,
		StopGracePeriod: haproxyDuration(p.StopTimeout),
		Restart:         composeRestart(p.Restart),
		Deploy:          &composeDeploy{Replicas: p.Count, UpdateConfig: composeRollout(p, r)},
	}
	for _, e := range append(p.BaseEnv(), p.Env...) {
		s.Environment[e.Key] = dollarEscape(e.Value)
	}
	s.EnvFile = c.envFiles()
	if p.Balanced || p.Health.Set {
		s.Healthcheck = composeCheck(p)
		if p.Health.Rise > 1 {
			r.warn("compose", p.Name+".health.rise", "Docker marks a container healthy after one good check, not %d", p.Health.Rise)
		}
	}
	df, _, err = c.generatedDockerfile(p, "compose", r)
	if err != nil || df != "" {
		s.Build.Dockerfile, s.Command = c.dockerfilePath(), nil
		return s, df, err
	}
	if loopbackOnly(p.Command) {
		r.warn("compose", p.Name+".command", "listens on the container's loopback only (127.0.0.1, localhost or flask run's default): other containers cannot reach it; bind 0.0.0.0 (flask run --host 0.0.0.0)")
	}
	return s, "", nil
}

// generatedDockerfile is, with --dockerfile, the Dockerfile that serves p and
// its command: a development server's app with gunicorn, an ASGI server's
// app with the same server on every address (asgi.go); "" when p runs
// neither or the app has a Dockerfile of its own (kept, and said).
func (c *Cluster) generatedDockerfile(p *Process, format string, r *Result) (df, cmd string, err error) {
	dev, asgi := devServer(p), asgiServer(p)
	if dev == "" && asgi == "" || !c.opts.Dockerfile {
		return "", "", nil
	}
	has, err := hasDockerfile(c.Dir)
	if err != nil || has {
		if has {
			r.warn(format, "--dockerfile", "the app has a Dockerfile already: it is kept, and %s keeps its command (%s)", p.Name, firstNonEmpty(dev, asgi))
		}
		return "", "", err
	}
	var a *pyApp
	if dev != "" {
		a, err = detectApp(c.Dir, p)
	} else {
		a, err = detectASGI(c.Dir, p, asgi)
	}
	if err != nil {
		return "", "", err
	}
	if df, err = c.dockerfile(p, a); err != nil {
		return "", "", err
	}
	if cmd, err = a.command(); err != nil {
		return "", "", err
	}
	if dev != "" {
		r.warn(format, p.Name+".command", "%s is a development server: the service runs the Dockerfile's gunicorn instead", dev)
	} else {
		r.warn(format, p.Name+".command", "the service runs the Dockerfile's %s on 0.0.0.0:$PORT, trusting the balancer's forwarding headers, not the manifest's command (%s)", asgi, oneLine(p.Command))
	}
	return df, cmd, nil
}

// writeYAML appends v to b as YAML with two-space indents.
func writeYAML(b *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// dockerfilePath is the generated Dockerfile relative to the build context
// (the manifest's directory), when it is written elsewhere (-o DIR); "" when
// it is the context's own.
func (c *Cluster) dockerfilePath() string {
	out := firstNonEmpty(c.opts.OutDir, c.Dir)
	if out == c.Dir {
		return ""
	}
	rel, err := filepath.Rel(c.Dir, filepath.Join(out, "Dockerfile"))
	if err != nil {
		return filepath.Join(out, "Dockerfile")
	}
	return filepath.ToSlash(rel)
}

// composeRollout maps the reload to update_config: stop-first replaces
// MaxUnavailable replicas at a time, start-first starts MaxSurge new ones
// before stopping old ones. Compose has one parallelism for both, so a reload
// with both set is a warning.
func composeRollout(p *Process, r *Result) *composeUpdate {
	ro := p.Rollout
	if ro.MaxSurge == 0 {
		return &composeUpdate{Parallelism: ro.MaxUnavailable, Order: "stop-first"}
	}
	if ro.MaxUnavailable > 0 {
		r.warn("compose", p.Name+".reload", "update_config has one parallelism: max_unavailable %d and max_surge %d become start-first, %d at a time",
			ro.MaxUnavailable, ro.MaxSurge, ro.MaxSurge)
	}
	return &composeUpdate{Parallelism: ro.MaxSurge, Order: "start-first"}
}

// checkStart is what Docker's health timeout allows beyond the manifest's
// for starting the check itself: docker exec and python3 take half a second
// and more on a busy machine (a timeout of 1 s marked healthy replicas
// unhealthy under load). The request's own timeout stays the manifest's.
const checkStart = 2 * time.Second

// composeCheck probes the instance from inside its container, with no curl
// assumed: bash's /dev/tcp where the image has bash (every Debian-based
// Python image), else the image's python3, which costs ten times the CPU
// (40 ms a check; at one check a second per replica that is most of a core
// on a busy machine, and its start alone took seconds there). The address and
// path are arguments, never code; a 2xx or 3xx answer is healthy, as
// urllib's (which follows redirects and raises for 4xx and 5xx).
func composeCheck(p *Process) *composeHealth {
	h := &composeHealth{
		Interval: haproxyDuration(p.Health.Interval), Timeout: haproxyDuration(p.Health.Timeout + checkStart), Retries: p.Health.Fall,
	}
	timeout := fmt.Sprintf("%g", p.Health.Timeout.Seconds())
	port := itoa(p.Port)
	var bash, python string
	if p.Health.Path != "" {
		bash = `exec 3<>/dev/tcp/127.0.0.1/$0 && printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3 && ` +
			`read -r -t "$2" v s r <&3 && case $s in [23]??) exit 0;; esac; exit 1`
		bash = shQuote(bash) + " " + port + " " + shQuote(p.Health.Path) + " " + timeout
		python = shQuote("import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))") + " " +
			shQuote("http://127.0.0.1:"+port+p.Health.Path) + " " + timeout
	} else {
		bash = shQuote(`exec 3<>/dev/tcp/127.0.0.1/$0`) + " " + port
		python = shQuote("import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), float(sys.argv[2]))") + " " + port + " " + timeout
	}
	h.Test = []string{"CMD-SHELL", dollarEscape("if command -v bash >/dev/null; then exec bash -c " + bash + "; else exec python3 -c " + python + "; fi")}
	return h
}

// shQuote writes s as one word for /bin/sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// composeBalancer adds the balancer service with its config file mounted.
func (c *Cluster) composeBalancer(f *composeFile, balancer string, bal []*Process, r *Result) error {
	s := &composeService{Restart: "always"}
	s.Ports = []string{publishPort(c.ListenHost, c.ListenPort)}
	for _, p := range bal {
		s.DependsOn = append(s.DependsOn, p.Slug)
	}
	bc, err := c.balancerConfig(balancer, "compose", 0, r)
	if err != nil {
		return err
	}
	s.Image, s.Command = bc.image, bc.command
	s.Volumes = []string{"./" + bc.file + ":" + bc.target + ":ro"}
	if t := c.TLS; t != nil {
		// The certificate and its key, bind-mounted where the balancer's config names them.
		s.Volumes = append(s.Volumes, dollarEscape(c.relFromOut(t.Cert))+":"+containerCert+":ro", dollarEscape(c.relFromOut(t.Key))+":"+containerKey+":ro")
		if t.Separate {
			s.Ports = append(s.Ports, publishPort(t.Host, t.Port))
		}
		if balancer == "haproxy" && c.opts.BalancerImage == "" {
			r.warn("compose", "proxy.tls", "the %s image runs HAProxy as user haproxy (uid 99): the bind-mounted key %s must be readable by it (the local CA's key is 0600, its owner's only)", DefaultHAProxyImage, t.Key)
		}
	}
	r.add(bc.file, bc.data)
	f.Services[balancerName(f.Services)] = s
	return nil
}

// publishPort publishes port on host's address ("" → every address), as the
// same port in the container.
func publishPort(host string, port int) string {
	if host != "" {
		return hostPort(host, port) + ":" + itoa(port)
	}
	return itoa(port) + ":" + itoa(port)
}

// eachService adds one service per process, made by service, and returns the
// first Dockerfile one of them needs written.
func eachService[S any](c *Cluster, services map[string]S, service func(*Process) (S, string, error)) (string, error) {
	var dockerfile string
	for _, p := range c.Processes {
		s, df, err := service(p)
		if err != nil {
			return "", err
		}
		if df != "" && dockerfile == "" {
			dockerfile = df
		}
		services[p.Slug] = s
	}
	return dockerfile, nil
}

// balancerName is the balancer's service name, unless a process has it.
func balancerName[S any](services map[string]S) string {
	if _, taken := services["balancer"]; taken {
		return "devcluster-balancer"
	}
	return "balancer"
}

// Default balancer images: the official ones, whose entrypoints accept the
// commands below as they are.
const (
	DefaultHAProxyImage = "haproxy:2.8"
	DefaultNginxImage   = "nginx:1.29"
)

// balancerSetup is the balancer service's image, command and config file,
// the same for compose and swarm.
type balancerSetup struct {
	image, file, target, data string
	command                   []string
}

// balancerConfig renders the balancer's config for a container that finds
// the replicas through Docker's DNS; extra is the number of replicas a
// rolling update adds beyond the formation (swarm's start-first), for which
// HAProxy keeps server slots. The command is given explicitly, so that an
// image with Debian's haproxy or nginx (--balancer-image) runs as the
// official one does.
func (c *Cluster) balancerConfig(balancer, format string, extra int, r *Result) (*balancerSetup, error) {
	var b strings.Builder
	switch balancer {
	case "haproxy":
		bs := &balancerSetup{image: firstNonEmpty(c.opts.BalancerImage, DefaultHAProxyImage), file: "haproxy.cfg",
			target: "/usr/local/etc/haproxy/haproxy.cfg"}
		bs.command = []string{"haproxy", "-f", bs.target}
		d := c.haproxyData(":"+itoa(c.ListenPort), true, extra)
		if c.TLS != nil {
			if err := c.haproxyTLS(d, containerCert, ":"+itoa(c.TLS.Port)); err != nil {
				return nil, err
			}
		}
		if err := haproxyTemplate.Execute(&b, d); err != nil {
			return nil, err
		}
		bs.data = b.String()
		return bs, nil
	case "nginx":
		bs := &balancerSetup{image: firstNonEmpty(c.opts.BalancerImage, DefaultNginxImage), file: "nginx.conf",
			target: "/etc/nginx/nginx.conf", command: []string{"nginx", "-g", "daemon off;"}}
		d, err := c.nginxData(r, format, itoa(c.ListenPort), true)
		if err != nil {
			return nil, err
		}
		if c.opts.BalancerImage != "" {
			// "resolve" is nginx 1.27.3+ (the official image); an image of
			// another nginx gets the replicas' addresses once, at start.
			for i := range d.Upstreams {
				for j := range d.Upstreams[i].Servers {
					d.Upstreams[i].Servers[j].Resolve = false
				}
			}
			r.warn(format, "--balancer-image", "nginx finds the replicas' addresses once, when it starts (\"resolve\" needs nginx 1.27.3+, as in %s): restart the balancer after scaling or replacing them", DefaultNginxImage)
		}
		if err := nginxTemplate.Execute(&b, d); err != nil {
			return nil, err
		}
		bs.data = b.String()
		return bs, nil
	}
	return nil, fmt.Errorf("--balancer %q: use haproxy or nginx", balancer)
}

// loopbackOnly reports whether a command binds the loopback interface, which
// inside a container no other container can reach.
func loopbackOnly(command string) bool {
	if strings.Contains(command, "127.0.0.1") || strings.Contains(command, "localhost") {
		return true
	}
	words := strings.Fields(command)
	return slicesHas(words, "flask") && slicesHas(words, "run") && !strings.Contains(command, "--host") && !strings.Contains(command, " -h ")
}
