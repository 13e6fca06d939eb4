package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"time"
)

// The stack file is the Compose subset that docker stack deploy reads: images
// (it ignores build:), no depends_on (Swarm starts everything at once and the
// balancer finds replicas through DNS as they come), the balancer's config as
// a Swarm config (a bind mount would name a path on whichever node runs it).
type stackFile struct {
	Version  string                   `yaml:"version"`
	Services map[string]*stackService `yaml:"services"`
	Configs  map[string]*stackConfig  `yaml:"configs,omitempty"`
	Secrets  map[string]*stackConfig  `yaml:"secrets,omitempty"`
}

type stackService struct {
	Image           string            `yaml:"image"`
	Command         []string          `yaml:"command,omitempty"`
	Environment     map[string]string `yaml:"environment,omitempty"`
	EnvFile         []string          `yaml:"env_file,omitempty"`
	Ports           []stackPort       `yaml:"ports,omitempty"`
	Configs         []stackConfigRef  `yaml:"configs,omitempty"`
	Secrets         []stackConfigRef  `yaml:"secrets,omitempty"`
	Healthcheck     *composeHealth    `yaml:"healthcheck,omitempty"`
	StopSignal      string            `yaml:"stop_signal,omitempty"`
	StopGracePeriod string            `yaml:"stop_grace_period,omitempty"`
	Deploy          *stackDeploy      `yaml:"deploy"`
}

type stackPort struct {
	Target    int    `yaml:"target"`
	Published int    `yaml:"published"`
	Protocol  string `yaml:"protocol"`
	Mode      string `yaml:"mode"`
}

type stackConfig struct {
	Name string `yaml:"name"`
	File string `yaml:"file"`
}

type stackConfigRef struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

type stackDeploy struct {
	Replicas       int           `yaml:"replicas"`
	EndpointMode   string        `yaml:"endpoint_mode,omitempty"`
	UpdateConfig   *stackUpdate  `yaml:"update_config,omitempty"`
	RollbackConfig *stackUpdate  `yaml:"rollback_config,omitempty"`
	RestartPolicy  *stackRestart `yaml:"restart_policy,omitempty"`
}

// stackUpdate is devcluster's rolling reload as Swarm's update_config: the
// new task starts and must pass its health check before an old one stops
// (start-first), a task that fails it rolls the whole update back.
type stackUpdate struct {
	Parallelism   int    `yaml:"parallelism"`
	Delay         string `yaml:"delay"`
	FailureAction string `yaml:"failure_action"`
	Monitor       string `yaml:"monitor"`
	Order         string `yaml:"order"`
}

type stackRestart struct {
	Condition string `yaml:"condition"`
	Delay     string `yaml:"delay"`
}

// SwarmDrain is how long a replica keeps serving after Swarm has told it to
// stop, before the app gets its stop signal: Swarm takes the task out of DNS
// and signals it at the same moment, and the balancer re-resolves every
// second, so without the pause requests still reach a replica whose listener
// has closed (moby #30321). devcluster up drains an instance in its proxy
// before stopping it; this is the same order.
const SwarmDrain = 3 * time.Second

// swarmStartPeriod is how long a new replica may take to pass its first
// check: devcluster waits for readiness without counting failures, and
// Docker's health check does the same during start_period.
const swarmStartPeriod = 10 * time.Second

func swarmRestart(policy string) string {
	switch policy {
	case "never":
		return "none"
	case "on-failure":
		return "on-failure"
	}
	return "any"
}

func renderSwarm(c *Cluster, r *Result) error {
	commonWarnings(c, r, "swarm")
	c.tlsWarnings(r, "swarm")
	balancer := firstNonEmpty(c.opts.Balancer, "haproxy")
	if balancer != "haproxy" && balancer != "nginx" {
		return fmt.Errorf("--balancer %q: use haproxy or nginx", balancer)
	}
	f := stackFile{Version: "3.8", Services: map[string]*stackService{}}
	dockerfile, err := eachService(c, f.Services, func(p *Process) (*stackService, string, error) { return c.stackService(p, r) })
	if err != nil {
		return err
	}
	if bal := c.Balanced(); len(bal) > 0 {
		if err := c.stackBalancer(&f, balancer, bal, r); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	b.WriteString(c.header("#"))
	b.WriteString("# Run: docker stack deploy -c stack.yaml " + c.App + "   (the balancer publishes port " + itoa(c.ListenPort) + ")\n")
	b.WriteString("# docker stack deploy builds nothing: the images must exist (devcluster export swarm --build).\n")
	if err := writeYAML(&b, f); err != nil {
		return err
	}
	r.Files = append([]File{{Name: "stack.yaml", Data: b.Bytes()}}, r.Files...)
	if dockerfile != "" {
		r.add("Dockerfile", dockerfile)
	}
	return nil
}

// stackService is one process as one Swarm service. A balanced process is
// reached by the balancer through DNS round robin (endpoint_mode: dnsrr): the
// balancer sees every replica, as devcluster's proxy sees every instance,
// rather than one virtual IP that spreads connections at layer 4.
func (c *Cluster) stackService(p *Process, r *Result) (*stackService, string, error) {
	df, cmd, err := c.generatedDockerfile(p, "swarm", r)
	if err != nil {
		return nil, "", err
	}
	if df == "" {
		cmd = p.ShellCommand()
	}
	if df == "" && loopbackOnly(p.Command) {
		r.warn("swarm", p.Name+".command", "listens on the container's loopback only (127.0.0.1, localhost or flask run's default): the balancer cannot reach it; bind 0.0.0.0 (flask run --host 0.0.0.0)")
	}
	grace := p.StopTimeout
	if p.Balanced {
		cmd = drainFirst(cmd, p.StopSignal, SwarmDrain)
		grace += SwarmDrain
	}
	s := &stackService{
		Image:   firstNonEmpty(c.opts.Image, c.App+":latest"),
		Command: []string{"/bin/sh", "-c", dollarEscape(cmd)},
		Environment: map[string]string{
			"PORT": itoa(p.Port),
			// Swarm's templates name each replica by its slot, as devcluster does.
			"PS":                  p.Name + ".{{.Task.Slot}}",
			"DEVCLUSTER_INSTANCE": "{{.Task.Slot}}",
		},
		StopSignal:      "SIG" + p.StopSignal,
		StopGracePeriod: haproxyDuration(grace),
		Deploy: &stackDeploy{
			Replicas:      p.Count,
			RestartPolicy: &stackRestart{Condition: swarmRestart(p.Restart), Delay: "1s"},
		},
	}
	for _, e := range append(p.BaseEnv(), p.Env...) {
		s.Environment[e.Key] = dollarEscape(e.Value)
	}
	s.EnvFile = c.envFiles()
	if p.Balanced {
		s.Deploy.EndpointMode = "dnsrr"
	}
	if p.Balanced || p.Health.Set {
		s.Healthcheck = composeCheck(p)
		s.Healthcheck.StartPeriod = haproxyDuration(swarmStartPeriod)
		if p.Health.Rise > 1 {
			r.warn("swarm", p.Name+".health.rise", "Docker marks a container healthy after one good check, not %d", p.Health.Rise)
		}
		u := swarmRollout(p)
		s.Deploy.UpdateConfig = u
		rb := *u
		rb.FailureAction = "pause"
		s.Deploy.RollbackConfig = &rb
	}
	return s, df, nil
}

// swarmRollout is the reload as update_config: max_unavailable replicas
// replaced at a time (devcluster's waves), each new one started and healthy
// before the old one stops, and the update rolled back when a new replica
// fails its check within monitor (the time devcluster's check takes to mark
// an instance down: fall checks, one interval apart).
func swarmRollout(p *Process) *stackUpdate {
	monitor := p.Health.Interval*time.Duration(p.Health.Fall) + p.Health.Timeout
	return &stackUpdate{
		Parallelism:   max(p.Rollout.MaxUnavailable, p.Rollout.MaxSurge, 1),
		Delay:         "0s",
		FailureAction: "rollback",
		Monitor:       haproxyDuration(monitor),
		Order:         "start-first",
	}
}

// drainFirst runs cmd under a shell that, given the stop signal, waits drain
// before passing it on, then waits for the app and exits with its status.
func drainFirst(cmd, signal string, drain time.Duration) string {
	return fmt.Sprintf("trap 'sleep %g; kill -%s $pid 2>/dev/null' %s\n(%s) &\npid=$!\nwait $pid; status=$?\n"+
		"if kill -0 $pid 2>/dev/null; then wait $pid; status=$?; fi\nexit $status", drain.Seconds(), signal, signal, cmd)
}

// stackBalancer adds the balancer, published on the proxy's port of the node
// it runs on (mode: host, as compose publishes it), its config a Swarm config
// named by its content (a config cannot change: a new content is a new
// config, and a new task). Not the routing mesh: it needs IPVS in the
// kernel, which not every machine has (this project's CI has none), and for
// one balancer replica it adds a layer 4 hop and nothing else (for the same
// reason no service has a virtual IP: endpoint_mode dnsrr). Since the
// port is the node's, a new balancer task can only start once the old one
// has stopped (stop-first).
func (c *Cluster) stackBalancer(f *stackFile, balancer string, bal []*Process, r *Result) error {
	extra := 0
	for _, p := range bal {
		extra = max(extra, max(p.Rollout.MaxUnavailable, p.Rollout.MaxSurge, 1))
	}
	bc, err := c.balancerConfig(balancer, "swarm", extra, r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(bc.data))
	key := balancer + "_config"
	f.Configs = map[string]*stackConfig{key: {Name: c.App + "-" + bc.file[:len(bc.file)-4] + "-" + hex.EncodeToString(sum[:])[:12], File: "./" + bc.file}}
	r.add(bc.file, bc.data)
	name := balancerName(f.Services)
	f.Services[name] = &stackService{
		Image:   bc.image,
		Command: bc.command,
		Ports:   []stackPort{{Target: c.ListenPort, Published: c.ListenPort, Protocol: "tcp", Mode: "host"}},
		Configs: []stackConfigRef{{Source: key, Target: bc.target}},
		Deploy: &stackDeploy{Replicas: 1, EndpointMode: "dnsrr", RestartPolicy: &stackRestart{Condition: "any", Delay: "1s"},
			UpdateConfig: &stackUpdate{Parallelism: 1, Delay: "0s", FailureAction: "rollback", Monitor: "5s", Order: "stop-first"}},
	}
	if c.TLS != nil {
		c.stackTLS(f, f.Services[name])
	}
	if c.ListenHost != "" && c.ListenHost != "0.0.0.0" && c.ListenHost != "::" {
		r.warn("swarm", "proxy.listen", "Swarm publishes port %d on every address of the node the balancer runs on, not on %s only: keep the node behind a firewall", c.ListenPort, c.ListenHost)
	}
	if c.Sticky == "cookie" {
		r.warn("swarm", "proxy.sticky", "Swarm's routing mesh balances connections at layer 4 and cannot stick by cookie: the stack's %s keeps the %s cookie, reaching the replicas directly (endpoint_mode: dnsrr)", balancer, c.Cookie)
	}
	return nil
}

// stackTLS gives the balancer the certificate and its key as Swarm secrets
// (a bind mount would name a path on whichever node runs it), each named by
// its content (a secret cannot change: a new certificate is a new secret),
// mounted where the balancer's config names them, and publishes the HTTPS
// port of https_listen.
func (c *Cluster) stackTLS(f *stackFile, s *stackService) {
	t := c.TLS
	f.Secrets = map[string]*stackConfig{
		"tls_cert": {Name: c.contentName("tls-cert", t.certPEM), File: dollarEscape(c.relFromOut(t.Cert))},
		"tls_key":  {Name: c.contentName("tls-key", t.keyPEM), File: dollarEscape(c.relFromOut(t.Key))},
	}
	s.Secrets = []stackConfigRef{
		{Source: "tls_cert", Target: path.Base(containerCert)},
		{Source: "tls_key", Target: path.Base(containerKey)},
	}
	if t.Separate {
		s.Ports = append(s.Ports, stackPort{Target: t.Port, Published: t.Port, Protocol: "tcp", Mode: "host"})
	}
}

// envFiles are the env files relative to the output directory, where the
// compose and stack files are.
func (c *Cluster) envFiles() []string {
	var out []string
	for _, ef := range c.opts.EnvFiles {
		rel, err := filepath.Rel(firstNonEmpty(c.opts.OutDir, c.Dir), ef)
		if err != nil {
			rel = ef
		}
		out = append(out, dollarEscape(filepath.ToSlash(rel)))
	}
	return out
}
