package export

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

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
	Context string `yaml:"context"`
}

type composeHealth struct {
	Test     []string `yaml:"test"`
	Interval string   `yaml:"interval"`
	Timeout  string   `yaml:"timeout"`
	Retries  int      `yaml:"retries"`
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
	balancer := firstNonEmpty(c.opts.Balancer, "haproxy")
	if balancer != "haproxy" && balancer != "nginx" {
		return fmt.Errorf("--balancer %q: use haproxy or nginx", balancer)
	}
	f := composeFile{Services: map[string]*composeService{}}
	context, err := filepath.Rel(firstNonEmpty(c.opts.OutDir, c.Dir), c.Dir)
	if err != nil {
		context = c.Dir
	}
	var dockerfile string
	for _, p := range c.Processes {
		s, df, err := c.composeService(p, filepath.ToSlash(context), r)
		if err != nil {
			return err
		}
		if df != "" && dockerfile == "" {
			dockerfile = df
		}
		f.Services[p.Slug] = s
	}
	if bal := c.Balanced(); len(bal) > 0 {
		if err := c.composeBalancer(&f, balancer, bal, r); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	b.WriteString(c.header("#"))
	b.WriteString("# Run: docker compose up --build   (the balancer publishes " + c.Listen + ")\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	enc.Close()
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
	for _, ef := range c.opts.EnvFiles {
		rel, err := filepath.Rel(firstNonEmpty(c.opts.OutDir, c.Dir), ef)
		if err != nil {
			rel = ef
		}
		s.EnvFile = append(s.EnvFile, dollarEscape(filepath.ToSlash(rel)))
	}
	if p.Balanced || p.Health.Set {
		s.Healthcheck = composeCheck(p)
		if p.Health.Rise > 1 {
			r.warn("compose", p.Name+".health.rise", "Docker marks a container healthy after one good check, not %d", p.Health.Rise)
		}
	}
	if dev := devServer(p); dev != "" && c.opts.Dockerfile {
		has, err := hasDockerfile(c.Dir)
		if err != nil {
			return nil, "", err
		}
		if has {
			r.warn("compose", "--dockerfile", "the app has a Dockerfile already: it is kept, and %s keeps its command (%s)", p.Name, dev)
		} else {
			a, err := detectApp(c.Dir, p)
			if err != nil {
				return nil, "", err
			}
			if df, err = c.dockerfile(p, a); err != nil {
				return nil, "", err
			}
			s.Command = nil
			r.warn("compose", p.Name+".command", "%s is a development server: the service runs the Dockerfile's gunicorn instead", dev)
			return s, df, nil
		}
	}
	if loopbackOnly(p.Command) {
		r.warn("compose", p.Name+".command", "listens on the container's loopback only (127.0.0.1, localhost or flask run's default): other containers cannot reach it; bind 0.0.0.0 (flask run --host 0.0.0.0)")
	}
	return s, "", nil
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

// composeCheck probes the instance from inside its container with the
// image's python3 (the check's address and path are arguments, not code).
func composeCheck(p *Process) *composeHealth {
	h := &composeHealth{
		Interval: haproxyDuration(p.Health.Interval), Timeout: haproxyDuration(p.Health.Timeout), Retries: p.Health.Fall,
	}
	timeout := fmt.Sprintf("%g", p.Health.Timeout.Seconds())
	if p.Health.Path != "" {
		h.Test = []string{"CMD", "python3", "-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))",
			dollarEscape("http://127.0.0.1:" + itoa(p.Port) + p.Health.Path), timeout}
	} else {
		h.Test = []string{"CMD", "python3", "-c", "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), float(sys.argv[2]))",
			itoa(p.Port), timeout}
	}
	return h
}

// composeBalancer adds the balancer service with its config file mounted.
func (c *Cluster) composeBalancer(f *composeFile, balancer string, bal []*Process, r *Result) error {
	s := &composeService{Restart: "always"}
	publish := itoa(c.ListenPort) + ":" + itoa(c.ListenPort)
	if c.ListenHost != "" {
		publish = hostPort(c.ListenHost, c.ListenPort) + ":" + itoa(c.ListenPort)
	}
	s.Ports = []string{publish}
	for _, p := range bal {
		s.DependsOn = append(s.DependsOn, p.Slug)
	}
	var b strings.Builder
	switch balancer {
	case "haproxy":
		s.Image = "haproxy:2.8"
		s.Volumes = []string{"./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"}
		if err := haproxyTemplate.Execute(&b, c.haproxyData(":"+itoa(c.ListenPort), true)); err != nil {
			return err
		}
		r.add("haproxy.cfg", b.String())
	case "nginx":
		s.Image = "nginx:1.29"
		s.Volumes = []string{"./nginx.conf:/etc/nginx/nginx.conf:ro"}
		d, err := c.nginxData(r, "compose", itoa(c.ListenPort), true)
		if err != nil {
			return err
		}
		if err := nginxTemplate.Execute(&b, d); err != nil {
			return err
		}
		r.add("nginx.conf", b.String())
	}
	name := "balancer"
	if _, taken := f.Services[name]; taken {
		name = "devcluster-balancer"
	}
	f.Services[name] = s
	return nil
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
