package export

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/devcluster/devcluster/procfile"
)

// dockerServices reads the services of a compose or stack file: what the
// agreement test compares with the Kubernetes Deployments.
type dockerServices struct {
	Services map[string]struct {
		Expose      []string          `yaml:"expose"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck *struct {
			Test     []string `yaml:"test"`
			Interval string   `yaml:"interval"`
			Timeout  string   `yaml:"timeout"`
			Retries  int      `yaml:"retries"`
		} `yaml:"healthcheck"`
		StopGracePeriod string `yaml:"stop_grace_period"`
		Deploy          struct {
			Replicas     int `yaml:"replicas"`
			UpdateConfig *struct {
				Parallelism   int    `yaml:"parallelism"`
				Order         string `yaml:"order"`
				FailureAction string `yaml:"failure_action"`
			} `yaml:"update_config"`
			RollbackConfig *struct {
				Parallelism int `yaml:"parallelism"`
			} `yaml:"rollback_config"`
		} `yaml:"deploy"`
	} `yaml:"services"`
}

// TestComposeSwarmKubernetesAgree (issue 19) reads the compose, swarm and
// kubernetes exports of the same manifest, for every golden case, and checks
// that they say the same thing where they overlap, with no engine: the
// replicas; the port the app listens on and every check probes; the check
// itself (HTTP on the health path or TCP, its period, its timeout, the
// failures that take a replica out); the rolling update's wave (instances
// replaced at a time); and the stop grace. Where the formats differ on
// purpose, the difference is the one the README's table states: Docker's
// timeout allows checkStart for starting the checker, Kubernetes counts whole
// seconds, Swarm starts the new replica first and gives SwarmDrain more grace.
func TestComposeSwarmKubernetesAgree(t *testing.T) {
	t.Parallel()
	clusters := map[string]func(t *testing.T) *Cluster{}
	for _, gc := range goldenCases() {
		clusters[gc.name] = func(t *testing.T) *Cluster { return gc.load(t, "compose") }
	}
	// Waves of two: the golden cases all replace one instance at a time.
	clusters["waves"] = func(t *testing.T) *Cluster {
		m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader("processes:\n  web:\n    command: gunicorn -b 0.0.0.0:$PORT app:app\n"+
			"    instances: 4\n    health:\n      path: /up\n      interval: 3s\n      fall: 4\n    stop_timeout: 20s\n    reload:\n      max_unavailable: 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		m.Dir = t.TempDir()
		c, err := Build(m, Options{App: "waves"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, load := range clusters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := load(t)
			read := func(format, file string) []byte {
				r, err := Render(c, format)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range r.Files {
					if f.Name == file {
						return f.Data
					}
				}
				t.Fatalf("%s wrote no %s", format, file)
				return nil
			}
			var compose, swarm dockerServices
			if err := yaml.Unmarshal(read("compose", "compose.yaml"), &compose); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(read("swarm", "stack.yaml"), &swarm); err != nil {
				t.Fatal(err)
			}
			deps, _, _ := decodeKubernetes(t, read("kubernetes", "kubernetes.yaml"))
			for _, p := range c.Processes {
				i := -1
				for j := range deps {
					if deps[j].Name == c.objName(p) {
						i = j
					}
				}
				if i < 0 {
					t.Fatalf("%s: no Deployment %s", p.Name, c.objName(p))
				}
				d := deps[i]
				ct := d.Spec.Template.Spec.Containers[0]
				cs, ss := compose.Services[p.Slug], swarm.Services[p.Slug]

				// Replicas.
				if *d.Spec.Replicas != int32(cs.Deploy.Replicas) || cs.Deploy.Replicas != ss.Deploy.Replicas {
					t.Errorf("%s replicas: kubernetes %d, compose %d, swarm %d", p.Name, *d.Spec.Replicas, cs.Deploy.Replicas, ss.Deploy.Replicas)
				}
				// The port.
				port := itoa(p.Port)
				if len(ct.Ports) != 1 || itoa(int(ct.Ports[0].ContainerPort)) != port || cs.Environment["PORT"] != port || ss.Environment["PORT"] != port ||
					len(cs.Expose) != 1 || cs.Expose[0] != port {
					t.Errorf("%s port: kubernetes %v, compose PORT %s expose %v, swarm PORT %s; want %s everywhere",
						p.Name, ct.Ports, cs.Environment["PORT"], cs.Expose, ss.Environment["PORT"], port)
				}
				// The check.
				probe := ct.ReadinessProbe
				hasCheck := p.Balanced || p.Health.Set
				if (probe != nil) != hasCheck || (cs.Healthcheck != nil) != hasCheck || (ss.Healthcheck != nil) != hasCheck {
					t.Errorf("%s: a check in kubernetes %v, compose %v, swarm %v; want %v", p.Name, probe != nil, cs.Healthcheck != nil, ss.Healthcheck != nil, hasCheck)
					continue
				}
				if !hasCheck {
					continue
				}
				for format, h := range map[string]*struct {
					Test     []string `yaml:"test"`
					Interval string   `yaml:"interval"`
					Timeout  string   `yaml:"timeout"`
					Retries  int      `yaml:"retries"`
				}{"compose": cs.Healthcheck, "swarm": ss.Healthcheck} {
					test := strings.ReplaceAll(strings.Join(h.Test, " "), "$$", "$")
					// bash's $0 (the script's first argument) and python3's address.
					if !regexp.MustCompile(`/dev/tcp/127\.0\.0\.1/\$0.*' `+port+`[ ;]`).MatchString(test) ||
						p.Health.Path != "" && !strings.Contains(test, "'http://127.0.0.1:"+port+"/") {
						t.Errorf("%s %s: the check does not probe port %s: %s", p.Name, format, port, test)
					}
					if p.Health.Path != "" {
						if probe.HTTPGet == nil || probe.HTTPGet.Path != p.Health.Path || !strings.Contains(test, " "+shQuote(p.Health.Path)+" ") {
							t.Errorf("%s %s: HTTP check of %q; kubernetes %v, %s %s", p.Name, format, p.Health.Path, probe.HTTPGet, format, test)
						}
					} else if probe.TCPSocket == nil || strings.Contains(test, "GET ") {
						t.Errorf("%s %s: a TCP check everywhere; kubernetes %v, %s %s", p.Name, format, probe.TCPSocket, format, test)
					}
					if h.Interval != haproxyDuration(p.Health.Interval) || int(probe.PeriodSeconds) != seconds(p.Health.Interval) {
						t.Errorf("%s %s: period %s, kubernetes %ds; the manifest says %s", p.Name, format, h.Interval, probe.PeriodSeconds, p.Health.Interval)
					}
					if h.Timeout != haproxyDuration(p.Health.Timeout+checkStart) || int(probe.TimeoutSeconds) != seconds(p.Health.Timeout) {
						t.Errorf("%s %s: timeout %s, kubernetes %ds; the manifest says %s (+%s in Docker for starting the checker)", p.Name, format, h.Timeout, probe.TimeoutSeconds, p.Health.Timeout, checkStart)
					}
					if h.Retries != int(probe.FailureThreshold) || h.Retries != p.Health.Fall {
						t.Errorf("%s %s: out after %d failed checks, kubernetes %d; the manifest says %d", p.Name, format, h.Retries, probe.FailureThreshold, p.Health.Fall)
					}
				}
				// The rolling update: the same wave everywhere.
				ru := d.Spec.Strategy.RollingUpdate
				wave := max(ru.MaxUnavailable.IntValue(), ru.MaxSurge.IntValue(), 1)
				if u := ss.Deploy.UpdateConfig; u == nil || u.Parallelism != wave || u.Order != "start-first" || u.FailureAction != "rollback" {
					t.Errorf("%s swarm update_config %+v; want parallelism %d (kubernetes maxUnavailable %s, maxSurge %s), start-first, rollback", p.Name, u, wave, ru.MaxUnavailable, ru.MaxSurge)
				}
				if rb := ss.Deploy.RollbackConfig; rb == nil || rb.Parallelism != wave {
					t.Errorf("%s swarm rollback_config %+v; want parallelism %d", p.Name, rb, wave)
				}
				if u := cs.Deploy.UpdateConfig; u == nil || u.Parallelism != max(ru.MaxSurge.IntValue(), ru.MaxUnavailable.IntValue()) && ru.MaxSurge.IntValue() == 0 {
					t.Errorf("%s compose update_config %+v; want parallelism %s", p.Name, u, ru.MaxUnavailable)
				}
				// The stop grace.
				grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
				if cs.StopGracePeriod != haproxyDuration(p.StopTimeout) || grace != time.Duration(seconds(p.StopTimeout))*time.Second ||
					ss.StopGracePeriod != haproxyDuration(p.StopTimeout+SwarmDrain) {
					t.Errorf("%s stop grace: compose %s, kubernetes %s, swarm %s; want %s (swarm %s more for the drain)", p.Name, cs.StopGracePeriod, grace, ss.StopGracePeriod, p.StopTimeout, SwarmDrain)
				}
			}
		})
	}
}
