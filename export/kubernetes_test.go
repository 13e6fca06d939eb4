package export

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// decodeKubernetes decodes every document of kubernetes.yaml strictly into
// the official API types: an unknown or misspelt field, or a value of the
// wrong type, is an error, as kubectl apply --validate=strict would report.
func decodeKubernetes(t *testing.T, data []byte) (deps []appsv1.Deployment, svcs []corev1.Service, ings []networkingv1.Ingress) {
	t.Helper()
	for i, doc := range strings.Split(string(data), "\n---\n") {
		if i == 0 {
			continue // the header comment
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		var err error
		switch tm.Kind {
		case "Deployment":
			var d appsv1.Deployment
			err = yaml.UnmarshalStrict([]byte(doc), &d)
			deps = append(deps, d)
		case "Service":
			var s corev1.Service
			err = yaml.UnmarshalStrict([]byte(doc), &s)
			svcs = append(svcs, s)
		case "Ingress":
			var in networkingv1.Ingress
			err = yaml.UnmarshalStrict([]byte(doc), &in)
			ings = append(ings, in)
		default:
			t.Fatalf("document %d: unexpected kind %q", i, tm.Kind)
		}
		if err != nil {
			t.Fatalf("document %d (%s): strict decode: %v\n%s", i, tm.Kind, err, doc)
		}
	}
	return deps, svcs, ings
}

// TestKubernetesDecodesStrictly decodes every golden case into k8s.io/api and
// checks what devcluster's model says: replicas, the port, the rolling update
// of its reload, probes, affinity, the Ingress paths.
func TestKubernetesDecodesStrictly(t *testing.T) {
	t.Parallel()
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			c := gc.load(t, "kubernetes")
			r, err := Render(c, "kubernetes")
			if err != nil {
				t.Fatal(err)
			}
			deps, svcs, ings := decodeKubernetes(t, r.Files[0].Data)
			if len(deps) != len(c.Processes) {
				t.Fatalf("got %d Deployments, want %d", len(deps), len(c.Processes))
			}
			for i, p := range c.Processes {
				d := deps[i]
				if got := *d.Spec.Replicas; int(got) != p.Count {
					t.Errorf("%s: replicas %d, want %d", p.Name, got, p.Count)
				}
				ru := d.Spec.Strategy.RollingUpdate
				if ru.MaxUnavailable.IntValue() != p.Rollout.MaxUnavailable || ru.MaxSurge.IntValue() != p.Rollout.MaxSurge {
					t.Errorf("%s: rolling update %v/%v, want maxUnavailable %d, maxSurge %d (devcluster's reload)",
						p.Name, ru.MaxUnavailable, ru.MaxSurge, p.Rollout.MaxUnavailable, p.Rollout.MaxSurge)
				}
				ct := d.Spec.Template.Spec.Containers[0]
				if ct.Ports[0].ContainerPort != int32(p.Port) {
					t.Errorf("%s: container port %d, want %d", p.Name, ct.Ports[0].ContainerPort, p.Port)
				}
				if got, want := unescapeK8s(ct.Command[2]), p.ShellCommand(); got != want {
					t.Errorf("%s: command %q after Kubernetes' $$ reduction, want %q", p.Name, got, want)
				}
				for _, e := range p.Env {
					if got := envValue(ct.Env, e.Key); got != e.Value {
						t.Errorf("%s: env %s = %q after $$ reduction, want %q", p.Name, e.Key, got, e.Value)
					}
				}
				if p.Balanced && ct.ReadinessProbe == nil {
					t.Errorf("%s: balanced but no readiness probe", p.Name)
				}
				if pr := ct.ReadinessProbe; pr != nil && p.Health.Path != "" && pr.HTTPGet.Path != p.Health.Path {
					t.Errorf("%s: readiness path %q, want %q", p.Name, pr.HTTPGet.Path, p.Health.Path)
				}
			}
			if len(svcs) != len(c.Balanced()) {
				t.Errorf("got %d Services, want one per balanced process (%d)", len(svcs), len(c.Balanced()))
			}
			for _, s := range svcs {
				if c.Sticky == "source" && s.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
					t.Errorf("%s: sessionAffinity %q with sticky: source", s.Name, s.Spec.SessionAffinity)
				}
			}
			if gc.opts.Ingress != "" {
				if len(ings) != 1 || ings[0].Spec.Rules[0].Host != gc.opts.Ingress {
					t.Fatalf("want one Ingress for %s, got %+v", gc.opts.Ingress, ings)
				}
				if c.Sticky == "cookie" && ings[0].Annotations["nginx.ingress.kubernetes.io/session-cookie-name"] != c.Cookie {
					t.Errorf("Ingress annotations %v: want cookie affinity on %s", ings[0].Annotations, c.Cookie)
				}
			}
		})
	}
}

// unescapeK8s reduces "$$" to "$", as Kubernetes does with commands and env
// values (where a lone $(VAR) would be expanded).
func unescapeK8s(s string) string { return strings.ReplaceAll(s, "$$", "$") }

func envValue(env []corev1.EnvVar, key string) string {
	for _, e := range env {
		if e.Name == key {
			return unescapeK8s(e.Value)
		}
	}
	return "<unset>"
}

// TestStrictDecodeRejectsUnknownFields shows the check above can fail: a
// misspelt field of a Deployment is an error, not silently dropped.
func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	var d appsv1.Deployment
	err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n"), &d)
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("got %v, want an unknown-field error naming replica", err)
	}
}
