package export

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The Kubernetes objects are typed structs with the API's field names,
// marshalled by yaml.v3; the tests decode them strictly into k8s.io/api's
// types, so a misspelt field fails there. Only what the export sets is here.
type k8sObject struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	Spec       any     `yaml:"spec"`
}

type k8sMeta struct {
	Name        string            `yaml:"name,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type k8sDeploymentSpec struct {
	Replicas int `yaml:"replicas"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Strategy struct {
		Type          string `yaml:"type"`
		RollingUpdate struct {
			MaxUnavailable int `yaml:"maxUnavailable"`
			MaxSurge       int `yaml:"maxSurge"`
		} `yaml:"rollingUpdate"`
	} `yaml:"strategy"`
	Template struct {
		Metadata k8sMeta    `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	} `yaml:"template"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
	Containers                    []k8sContainer `yaml:"containers"`
}

type k8sContainer struct {
	Name           string       `yaml:"name"`
	Image          string       `yaml:"image"`
	Command        []string     `yaml:"command"`
	Env            []k8sEnv     `yaml:"env,omitempty"`
	EnvFrom        []k8sEnvFrom `yaml:"envFrom,omitempty"`
	Ports          []k8sPort    `yaml:"ports,omitempty"`
	ReadinessProbe *k8sProbe    `yaml:"readinessProbe,omitempty"`
	LivenessProbe  *k8sProbe    `yaml:"livenessProbe,omitempty"`
}

type k8sEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value,omitempty"`
	ValueFrom *struct {
		FieldRef struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom,omitempty"`
}

type k8sEnvFrom struct {
	SecretRef struct {
		Name     string `yaml:"name"`
		Optional bool   `yaml:"optional"`
	} `yaml:"secretRef"`
}

type k8sPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet,omitempty"`
	TCPSocket *struct {
		Port string `yaml:"port"`
	} `yaml:"tcpSocket,omitempty"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	SuccessThreshold int `yaml:"successThreshold"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type k8sServiceSpec struct {
	Selector        map[string]string `yaml:"selector"`
	Ports           []k8sServicePort  `yaml:"ports"`
	SessionAffinity string            `yaml:"sessionAffinity,omitempty"`
}

type k8sServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
}

type k8sIngressSpec struct {
	TLS   []k8sIngressTLS  `yaml:"tls,omitempty"`
	Rules []k8sIngressRule `yaml:"rules"`
}

type k8sIngressTLS struct {
	Hosts      []string `yaml:"hosts"`
	SecretName string   `yaml:"secretName"`
}

type k8sIngressRule struct {
	Host string `yaml:"host"`
	HTTP struct {
		Paths []k8sIngressPath `yaml:"paths"`
	} `yaml:"http"`
}

type k8sIngressPath struct {
	Path     string `yaml:"path"`
	PathType string `yaml:"pathType"`
	Backend  struct {
		Service struct {
			Name string `yaml:"name"`
			Port struct {
				Number int `yaml:"number"`
			} `yaml:"port"`
		} `yaml:"service"`
	} `yaml:"backend"`
}

// k8sDoc is one document of the multi-document file, with comment lines.
type k8sDoc struct {
	comments []string
	obj      k8sObject
}

func renderKubernetes(c *Cluster, r *Result) error {
	if c.opts.Ingress != "" && !isHostname(c.opts.Ingress) {
		return fmt.Errorf("--ingress %q is not a host name like app.example.com", c.opts.Ingress)
	}
	commonWarnings(c, r, "kubernetes")
	c.kubernetesWarnings(r)
	var docs []k8sDoc
	for _, p := range c.Processes {
		d := k8sDoc{obj: c.deployment(p)}
		if p.Balanced || p.Health.Set {
			d.comments = []string{fmt.Sprintf("The liveness probe restarts a pod after %d failed checks; devcluster only takes such an", p.Health.Fall),
				"instance out of rotation (the readiness probe). Raise its failureThreshold for a slow start or a busy app."}
		}
		docs = append(docs, d)
		if p.Balanced {
			docs = append(docs, c.service(p))
		}
	}
	if (c.opts.Ingress != "" || len(c.Hosts) > 0) && len(c.Balanced()) > 0 {
		docs = append(docs, c.ingress())
	}
	var b bytes.Buffer
	b.WriteString(c.header("#"))
	for _, d := range docs {
		b.WriteString("---\n")
		for _, line := range d.comments {
			b.WriteString("# " + oneLine(line) + "\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(d.obj); err != nil {
			return err
		}
		enc.Close()
	}
	r.add("kubernetes.yaml", b.String())
	return nil
}

// kubernetesWarnings names what Deployments and Services cannot do.
func (c *Cluster) kubernetesWarnings(r *Result) {
	const f = "kubernetes"
	switch c.Strategy {
	case "leastconn", "uri", "first":
		r.warn(f, "proxy.strategy", "a Service spreads connections without a %s strategy (kube-proxy picks an endpoint per connection)", c.Strategy)
	}
	if len(c.Env) > 0 {
		r.warn(f, "env file", "%d variable(s) of the env files are not written into the manifest (they may be secrets); the pods read the Secret %s-env: kubectl create secret generic %s-env --from-env-file=.env",
			len(c.Env), c.App, c.App)
	}
	if t := c.TLS; t != nil {
		if c.opts.Ingress == "" && len(c.Hosts) == 0 {
			r.warn(f, "proxy.tls", "only an Ingress terminates HTTPS: pass --ingress HOST for one with a tls: section")
		} else {
			r.warn(f, "proxy.tls", "the Ingress names the TLS Secret %s, which kubernetes.yaml does not hold: kubectl create secret tls %s --cert=%s --key=%s",
				c.tlsSecret(), c.tlsSecret(), t.Cert, t.Key)
		}
	}
	if c.Sticky == "cookie" && c.opts.Ingress == "" {
		r.warn(f, "proxy.sticky", "a Service cannot stick by cookie: pass --ingress HOST for an Ingress with ingress-nginx's cookie affinity")
	}
	for _, p := range c.Processes {
		if p.Restart != "always" {
			r.warn(f, p.Name+".restart", "a Deployment always restarts its containers (restartPolicy Always), not %q", p.Restart)
		}
		if (p.Balanced || p.Health.Set) && loopbackOnly(p.Command) {
			r.warn(f, p.Name+".command", "listens on the pod's loopback only (127.0.0.1, localhost or flask run's default): the kubelet's probes and the Service connect to the pod's address, so its pods never become ready; bind 0.0.0.0 (flask run --host 0.0.0.0)")
		}
		if p.StopSignal != "TERM" {
			r.warn(f, p.Name+".stop_signal", "Kubernetes stops containers with SIGTERM (or the image's STOPSIGNAL), not SIG%s", p.StopSignal)
		}
		if p.Health.Set {
			for _, d := range []struct {
				name string
				v    time.Duration
			}{{"interval", p.Health.Interval}, {"timeout", p.Health.Timeout}} {
				if d.v%time.Second != 0 {
					r.warn(f, p.Name+".health."+d.name, "probes count whole seconds: %s becomes %ds", d.v, seconds(d.v))
				}
			}
		}
		if !p.Balanced {
			continue
		}
		if p.Weight != 1 {
			r.warn(f, p.Name+".weight", "a Service weighs every pod the same: weight %d is not exported", p.Weight)
		}
		if p.MaxConn > 0 {
			r.warn(f, p.Name+".maxconn", "a Service has no per-pod connection limit: maxconn %d is not exported", p.MaxConn)
		}
		if p.Prefix != "/" && c.opts.Ingress == "" {
			r.warn(f, p.Name+".proxy.prefix", "only an Ingress routes by path: pass --ingress HOST to route %s to %s", p.Prefix, p.Name)
		}
	}
}

// tlsSecret names the Ingress's TLS Secret.
func (c *Cluster) tlsSecret() string { return c.App + "-tls" }

func (c *Cluster) labels(p *Process) map[string]string {
	return map[string]string{"app.kubernetes.io/name": c.App, "app.kubernetes.io/component": p.Slug}
}

func (c *Cluster) objName(p *Process) string { return c.App + "-" + p.Slug }

func (c *Cluster) deployment(p *Process) k8sObject {
	var s k8sDeploymentSpec
	s.Replicas = p.Count
	s.Selector.MatchLabels = c.labels(p)
	s.Strategy.Type = "RollingUpdate"
	s.Strategy.RollingUpdate.MaxUnavailable = p.Rollout.MaxUnavailable
	s.Strategy.RollingUpdate.MaxSurge = p.Rollout.MaxSurge
	s.Template.Metadata = k8sMeta{Labels: c.labels(p)}
	s.Template.Spec.TerminationGracePeriodSeconds = seconds(p.StopTimeout)
	ct := k8sContainer{
		Name:    p.Slug,
		Image:   firstNonEmpty(c.opts.Image, c.App+":latest"),
		Command: []string{"/bin/sh", "-c", dollarEscape(p.ShellCommand())},
		Env:     []k8sEnv{{Name: "PORT", Value: itoa(p.Port)}},
		Ports:   []k8sPort{{Name: "http", ContainerPort: p.Port}},
	}
	ps := k8sEnv{Name: "PS"} // the pod's name stands for devcluster's web.2
	ps.ValueFrom = &struct {
		FieldRef struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	}{}
	ps.ValueFrom.FieldRef.FieldPath = "metadata.name"
	ct.Env = append(ct.Env, ps)
	for _, e := range append(p.BaseEnv(), p.Env...) {
		ct.Env = append(ct.Env, k8sEnv{Name: e.Key, Value: dollarEscape(e.Value)})
	}
	if len(c.Env) > 0 {
		var ef k8sEnvFrom
		ef.SecretRef.Name = c.App + "-env"
		ef.SecretRef.Optional = true
		ct.EnvFrom = []k8sEnvFrom{ef}
	}
	if p.Balanced || p.Health.Set {
		ct.ReadinessProbe = k8sProbeFor(p, p.Health.Rise)
		ct.LivenessProbe = k8sProbeFor(p, 1) // Kubernetes requires 1 for liveness
	}
	s.Template.Spec.Containers = []k8sContainer{ct}
	return k8sObject{APIVersion: "apps/v1", Kind: "Deployment", Metadata: k8sMeta{Name: c.objName(p), Labels: c.labels(p)}, Spec: s}
}

func k8sProbeFor(p *Process, success int) *k8sProbe {
	pr := &k8sProbe{
		PeriodSeconds: seconds(p.Health.Interval), TimeoutSeconds: seconds(p.Health.Timeout),
		SuccessThreshold: success, FailureThreshold: p.Health.Fall,
	}
	if p.Health.Path != "" {
		pr.HTTPGet = &struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		}{Path: p.Health.Path, Port: "http"}
	} else {
		pr.TCPSocket = &struct {
			Port string `yaml:"port"`
		}{Port: "http"}
	}
	return pr
}

func (c *Cluster) service(p *Process) k8sDoc {
	s := k8sServiceSpec{Selector: c.labels(p), Ports: []k8sServicePort{{Name: "http", Port: 80, TargetPort: "http"}}}
	var comments []string
	switch {
	case c.Sticky == "source" || c.Strategy == "source":
		s.SessionAffinity = "ClientIP"
	case c.Sticky == "cookie":
		comments = append(comments,
			"sticky: cookie "+c.Cookie+" — a Service sticks by client address at most (sessionAffinity: ClientIP).",
			"Cookie affinity belongs to the Ingress; with ingress-nginx:",
			"  nginx.ingress.kubernetes.io/affinity: cookie",
			"  nginx.ingress.kubernetes.io/session-cookie-name: "+c.Cookie)
	}
	return k8sDoc{comments: comments, obj: k8sObject{APIVersion: "v1", Kind: "Service",
		Metadata: k8sMeta{Name: c.objName(p), Labels: c.labels(p)}, Spec: s}}
}

// ingressPath routes prefix to p's Service.
func (c *Cluster) ingressPath(p *Process, prefix string) k8sIngressPath {
	var ip k8sIngressPath
	ip.Path, ip.PathType = strings.TrimSuffix(prefix, "/"), "Prefix"
	if ip.Path == "" {
		ip.Path = "/"
	}
	ip.Backend.Service.Name = c.objName(p)
	ip.Backend.Service.Port.Number = 80
	return ip
}

// ingress routes --ingress's host by path prefix and each host of
// proxy.hosts to its process, with a tls: section for them all when the
// manifest serves HTTPS.
func (c *Cluster) ingress() k8sDoc {
	var s k8sIngressSpec
	var comments, hosts []string
	if c.opts.Ingress != "" {
		rule := k8sIngressRule{Host: c.opts.Ingress}
		for _, p := range c.Balanced() {
			rule.HTTP.Paths = append(rule.HTTP.Paths, c.ingressPath(p, p.Prefix))
		}
		s.Rules = append(s.Rules, rule)
		hosts = append(hosts, c.opts.Ingress)
		comments = append(comments, "Routes "+c.opts.Ingress+" by path prefix, as devcluster's proxy does.")
	}
	for _, h := range c.Hosts {
		rule := k8sIngressRule{Host: h.Host}
		rule.HTTP.Paths = append(rule.HTTP.Paths, c.ingressPath(h.Process, "/"))
		s.Rules = append(s.Rules, rule)
		hosts = append(hosts, h.Host)
	}
	if len(c.Hosts) > 0 {
		comments = append(comments, "Routes the hosts of proxy.hosts to their processes, whatever the path.")
	}
	if c.TLS != nil {
		s.TLS = []k8sIngressTLS{{Hosts: hosts, SecretName: c.tlsSecret()}}
		comments = append(comments, "HTTPS with the TLS Secret "+c.tlsSecret()+", which this file does not hold (it is the private key):",
			"  kubectl create secret tls "+c.tlsSecret()+" --cert=CERT.pem --key=KEY.pem",
			"with a certificate naming "+strings.Join(hosts, ", ")+".")
	}
	meta := k8sMeta{Name: c.App, Labels: map[string]string{"app.kubernetes.io/name": c.App}}
	if c.Sticky == "cookie" {
		meta.Annotations = map[string]string{
			"nginx.ingress.kubernetes.io/affinity":            "cookie",
			"nginx.ingress.kubernetes.io/session-cookie-name": c.Cookie,
		}
	}
	return k8sDoc{comments: comments,
		obj: k8sObject{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Metadata: meta, Spec: s}}
}
