package export

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kubeAPICases are the golden cases, the Flask example with --ingress and a tagged
// image (the golden cases' one Ingress is the sticky one's, and all their images are
// APP:latest, which the server treats differently), and with --strategy source (the
// one way to a Service with sessionAffinity).
func kubeAPICases() []goldenCase {
	return append(goldenCases(),
		goldenCase{name: "flask-ingress", manifest: "../Procfile.example", formation: "web=3",
			opts: Options{Ingress: "flask.example.com", Image: "registry.example.com/flask:1.4"}},
		goldenCase{name: "source", manifest: "../Procfile.example", formation: "web=2", opts: Options{Strategy: "source"}})
}

// TestKubernetesExportOnRealAPIServer applies every case's kubernetes.yaml to a real
// kube-apiserver (v1.37.2, scripts/kube-control-plane.sh) with the controller manager
// running: a server-side dry run and a server-side apply, both with strict field
// validation, must succeed; the Deployment controller must make one ReplicaSet per
// Deployment with the export's replica count, and that many Pods (Pending: there is no
// kubelet); what the server stored must be what the export wrote, plus the defaults
// kubeServerDefaults lists (and the README promises); applying the same file again
// must not start a rollout. The strict decode (TestKubernetesDecodesStrictly) stays
// the fast check that needs no server.
func TestKubernetesExportOnRealAPIServer(t *testing.T) {
	cp := startKubeControlPlane(t)
	t.Run("rejects", func(t *testing.T) { testAPIServerRejects(t, cp) })
	var mu sync.Mutex
	checked := make([]int, len(kubeServerDefaults)) // objects each default was checked on
	t.Run("cases", func(t *testing.T) {
		for _, gc := range kubeAPICases() {
			t.Run(gc.name, func(t *testing.T) {
				t.Parallel()
				got := testExportOnAPIServer(t, cp, gc)
				for i, def := range kubeServerDefaults {
					n, err := def.check(got)
					if err != nil {
						t.Errorf("server default %s: %v", def.readme, err)
					}
					mu.Lock()
					checked[i] += n
					mu.Unlock()
				}
			})
		}
	})
	for i, def := range kubeServerDefaults {
		if checked[i] == 0 && !t.Failed() {
			t.Errorf("server default %s was checked on no object: add a case that has one", def.readme)
		}
	}
}

// testAPIServerRejects shows the server checks below can fail: the Flask export with
// a misspelt field, and with a rolling update that can make no progress, are refused
// by the dry run, which creates nothing.
func testAPIServerRejects(t *testing.T, cp *kubeControlPlane) {
	good := string(kubernetesFile(t, goldenCases()[0].render(t, "kubernetes")))
	const ns = "rejects"
	cp.mustKubectl(t, nil, "create", "namespace", ns)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"misspelt field", "\n  replicas: 3\n", "\n  replica: 3\n", ".spec.replica: field not declared in schema"},
		{"no progress", "maxUnavailable: 1\n      maxSurge: 0\n", "maxUnavailable: 0\n      maxSurge: 0\n", "may not be 0 when `maxSurge` is 0"},
	} {
		bad := strings.Replace(good, tc.old, tc.new, 1)
		if bad == good {
			t.Fatalf("%s: the Flask export has no %q to replace", tc.name, tc.old)
		}
		_, err := cp.kubectl([]byte(bad), "apply", "--dry-run=server", "--server-side", "--validate=strict", "-n", ns, "-f", "-")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %s", tc.name, err, tc.want)
		}
	}
	if out := cp.mustKubectl(t, nil, "get", "deployments,services", "-n", ns, "-o", "name"); out != "" {
		t.Errorf("a refused dry run created objects:\n%s", out)
	}
}

func kubernetesFile(t *testing.T, r *Result) []byte {
	t.Helper()
	for _, f := range r.Files {
		if f.Name == "kubernetes.yaml" {
			return f.Data
		}
	}
	t.Fatalf("the export wrote no kubernetes.yaml: %v", r.Files)
	return nil
}

// kubeObjects is what one namespace holds after the apply, as the server returns it.
type kubeObjects struct {
	deps []appsv1.Deployment
	rss  []appsv1.ReplicaSet
	pods []corev1.Pod
	svcs []corev1.Service
	ings []networkingv1.Ingress
}

// getObjects reads every kind the test checks from ns in one kubectl call.
func (cp *kubeControlPlane) getObjects(t *testing.T, ns string) kubeObjects {
	t.Helper()
	out := cp.mustKubectl(t, nil, "get", "deployments,replicasets,pods,services,ingresses", "-n", ns, "-o", "json")
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("kubectl get -o json: %v\n%s", err, out)
	}
	var o kubeObjects
	for _, raw := range list.Items {
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil {
			t.Fatal(err)
		}
		var err error
		switch tm.Kind {
		case "Deployment":
			err = appendDecoded(&o.deps, raw)
		case "ReplicaSet":
			err = appendDecoded(&o.rss, raw)
		case "Pod":
			err = appendDecoded(&o.pods, raw)
		case "Service":
			err = appendDecoded(&o.svcs, raw)
		case "Ingress":
			err = appendDecoded(&o.ings, raw)
		default:
			t.Fatalf("kubectl get returned a %s", tm.Kind)
		}
		if err != nil {
			t.Fatalf("decode %s: %v", tm.Kind, err)
		}
	}
	return o
}

func appendDecoded[T any](list *[]T, raw []byte) error {
	var v T
	err := json.Unmarshal(raw, &v)
	*list = append(*list, v)
	return err
}

func ownedBy(ref []metav1.OwnerReference, owner metav1.Object) bool {
	for _, r := range ref {
		if r.UID == owner.GetUID() && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

func testExportOnAPIServer(t *testing.T, cp *kubeControlPlane, gc goldenCase) kubeObjects {
	c := gc.load(t, "kubernetes")
	r, err := Render(c, "kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	data := kubernetesFile(t, r)
	sentDeps, sentSvcs, sentIngs := decodeKubernetes(t, data)
	replicas := map[string]int32{} // the manifest's formation, by Deployment
	for _, p := range c.Processes {
		replicas[c.objName(p)] = int32(p.Count)
	}
	ns := "export-" + gc.name
	cp.mustKubectl(t, nil, "create", "namespace", ns)

	cp.mustKubectl(t, data, "apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
	if out := cp.mustKubectl(t, nil, "get", "deployments,services,ingresses", "-n", ns, "-o", "name"); out != "" {
		t.Fatalf("the dry run created objects:\n%s", out)
	}
	apply := []string{"apply", "--server-side", "--field-manager=devcluster-export-test", "--validate=strict", "-n", ns, "-f", "-"}
	cp.mustKubectl(t, data, apply...)
	if c.TLS != nil && len(sentIngs) > 0 {
		// The Secret the Ingress names, made by the command kubernetes.yaml gives.
		cp.mustKubectl(t, nil, "create", "secret", "tls", c.tlsSecret(), "--cert="+c.TLS.Cert, "--key="+c.TLS.Key, "-n", ns)
		for _, in := range sentIngs {
			for _, tl := range in.Spec.TLS {
				if typ := cp.mustKubectl(t, nil, "get", "secret", tl.SecretName, "-n", ns, "-o", "jsonpath={.type}"); typ != "kubernetes.io/tls" {
					t.Errorf("%s: the Ingress's Secret %s has type %q, want kubernetes.io/tls", in.Name, tl.SecretName, typ)
				}
			}
		}
	}

	// The Deployment controller counts the Pods its ReplicaSet made in status.replicas;
	// kubectl wait watches for it (no polling here).
	for _, d := range sentDeps {
		want := replicas[d.Name]
		if want == 0 {
			t.Fatalf("%s: a case with 0 replicas shows no controller at work; give it one", d.Name)
		}
		if _, err := cp.kubectl(nil, "wait", "-n", ns, "--timeout=60s",
			"--for=jsonpath={.status.replicas}="+strconv.Itoa(int(want)), "deployment/"+d.Name); err != nil {
			status, _ := cp.kubectl(nil, "get", "-n", ns, "deployment/"+d.Name, "-o", "jsonpath={.spec.replicas} {.status}")
			t.Fatalf("%s: the Deployment controller did not reach %d pods (spec.replicas and status: %s)\n%v", d.Name, want, status, err)
		}
	}
	got := cp.getObjects(t, ns)
	checkControllers(t, got, sentDeps, replicas)
	checkStored(t, got, sentDeps, sentSvcs, sentIngs)

	// Exporting again and applying the same file changes no Deployment's template: no
	// new ReplicaSet, no rollout of pods that did not change.
	cp.mustKubectl(t, data, apply...)
	again := cp.getObjects(t, ns)
	for i, d := range again.deps {
		if d.Generation != got.deps[i].Generation {
			t.Errorf("%s: generation %d after the same apply again, was %d (a spurious rollout)", d.Name, d.Generation, got.deps[i].Generation)
		}
	}
	if len(again.rss) != len(got.rss) {
		t.Errorf("%d ReplicaSets after the same apply again, were %d", len(again.rss), len(got.rss))
	}
	return got
}

// checkControllers: each Deployment has exactly one ReplicaSet it controls, with the
// manifest's replicas, and that ReplicaSet controls exactly that many Pods, Pending
// and unscheduled, labelled with the Deployment's selector.
func checkControllers(t *testing.T, got kubeObjects, sent []appsv1.Deployment, replicas map[string]int32) {
	t.Helper()
	if len(got.deps) != len(sent) {
		t.Fatalf("the server holds %d Deployments, the export wrote %d", len(got.deps), len(sent))
	}
	for _, s := range sent {
		d := findByName(got.deps, s.Name)
		if d == nil {
			t.Errorf("no Deployment %s on the server", s.Name)
			continue
		}
		want := replicas[s.Name]
		if d.Status.ObservedGeneration != d.Generation {
			t.Errorf("%s: observedGeneration %d, generation %d", d.Name, d.Status.ObservedGeneration, d.Generation)
		}
		var rss []appsv1.ReplicaSet
		for _, rs := range got.rss {
			if ownedBy(rs.OwnerReferences, d) {
				rss = append(rss, rs)
			}
		}
		if len(rss) != 1 {
			t.Errorf("%s: %d ReplicaSets, want 1", d.Name, len(rss))
			continue
		}
		rs := rss[0]
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas != want {
			t.Errorf("%s: ReplicaSet %s has replicas %v, want %d", d.Name, rs.Name, rs.Spec.Replicas, want)
		}
		var pods []corev1.Pod
		for _, p := range got.pods {
			if ownedBy(p.OwnerReferences, &rs) {
				pods = append(pods, p)
			}
		}
		if len(pods) != int(want) {
			t.Errorf("%s: ReplicaSet %s controls %d Pods, want %d", d.Name, rs.Name, len(pods), want)
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
				t.Errorf("%s: phase %s on node %q, want Pending and unscheduled (there is no kubelet)", p.Name, p.Status.Phase, p.Spec.NodeName)
			}
			for k, v := range d.Spec.Selector.MatchLabels {
				if p.Labels[k] != v {
					t.Errorf("%s: label %s=%q, want %q (the Deployment's selector)", p.Name, k, p.Labels[k], v)
				}
			}
		}
	}
}

func findByName[T any, P interface {
	*T
	GetName() string
}](items []T, name string) P {
	for i := range items {
		if P(&items[i]).GetName() == name {
			return &items[i]
		}
	}
	return nil
}

// checkStored: the server kept what the export wrote (replicas, rolling update,
// grace period, command, env, ports, probes; Service ports, selector and affinity;
// Ingress rules and annotations). Fields the export leaves out are kubeServerDefaults'.
func checkStored(t *testing.T, got kubeObjects, deps []appsv1.Deployment, svcs []corev1.Service, ings []networkingv1.Ingress) {
	t.Helper()
	for _, s := range deps {
		d := findByName(got.deps, s.Name)
		if d == nil {
			continue // reported by checkControllers
		}
		if *d.Spec.Replicas != *s.Spec.Replicas {
			t.Errorf("%s: replicas %d stored, %d sent", d.Name, *d.Spec.Replicas, *s.Spec.Replicas)
		}
		if !reflect.DeepEqual(d.Spec.Strategy, s.Spec.Strategy) {
			t.Errorf("%s: strategy %+v stored, %+v sent", d.Name, d.Spec.Strategy, s.Spec.Strategy)
		}
		gp, sp := d.Spec.Template.Spec, s.Spec.Template.Spec
		if *gp.TerminationGracePeriodSeconds != *sp.TerminationGracePeriodSeconds {
			t.Errorf("%s: terminationGracePeriodSeconds %d stored, %d sent", d.Name, *gp.TerminationGracePeriodSeconds, *sp.TerminationGracePeriodSeconds)
		}
		if len(gp.Containers) != 1 {
			t.Errorf("%s: %d containers stored", d.Name, len(gp.Containers))
			continue
		}
		gc, sc := gp.Containers[0], sp.Containers[0]
		for _, f := range []struct {
			name      string
			got, sent any
		}{
			{"image", gc.Image, sc.Image},
			{"command", gc.Command, sc.Command},
			{"env", gc.Env, withEnvDefaults(sc.Env)},
			{"envFrom", gc.EnvFrom, sc.EnvFrom},
			{"readinessProbe", gc.ReadinessProbe, withProbeDefaults(sc.ReadinessProbe)},
			{"livenessProbe", gc.LivenessProbe, withProbeDefaults(sc.LivenessProbe)},
			{"ports", gc.Ports, withPortDefaults(sc.Ports)},
		} {
			if !reflect.DeepEqual(f.got, f.sent) {
				t.Errorf("%s: %s stored differs from the export's:\n stored %+v\n   sent %+v", d.Name, f.name, f.got, f.sent)
			}
		}
	}
	for _, s := range svcs {
		g := findByName(got.svcs, s.Name)
		if g == nil {
			t.Errorf("no Service %s on the server", s.Name)
			continue
		}
		if !reflect.DeepEqual(g.Spec.Selector, s.Spec.Selector) {
			t.Errorf("%s: selector %v stored, %v sent", g.Name, g.Spec.Selector, s.Spec.Selector)
		}
		if len(g.Spec.Ports) != 1 || g.Spec.Ports[0].Port != 80 || g.Spec.Ports[0].TargetPort != intstr.FromString("http") {
			t.Errorf("%s: ports %+v, want port 80 to the pods' port named http", g.Name, g.Spec.Ports)
		}
		if want := cmpOr(s.Spec.SessionAffinity, corev1.ServiceAffinityNone); g.Spec.SessionAffinity != want {
			t.Errorf("%s: sessionAffinity %q stored, want %q", g.Name, g.Spec.SessionAffinity, want)
		}
	}
	if len(got.ings) != len(ings) {
		t.Errorf("the server holds %d Ingresses, the export wrote %d", len(got.ings), len(ings))
	}
	for _, s := range ings {
		g := findByName(got.ings, s.Name)
		if g == nil {
			continue
		}
		if !reflect.DeepEqual(g.Spec.Rules, s.Spec.Rules) || !reflect.DeepEqual(g.Annotations, s.Annotations) {
			t.Errorf("%s: stored rules %+v annotations %v, sent %+v %v", g.Name, g.Spec.Rules, g.Annotations, s.Spec.Rules, s.Annotations)
		}
		if !reflect.DeepEqual(g.Spec.TLS, s.Spec.TLS) {
			t.Errorf("%s: stored tls %+v, sent %+v", g.Name, g.Spec.TLS, s.Spec.TLS)
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// withProbeDefaults is a sent probe as the server stores it: an HTTP check's scheme
// is HTTP. The export sets every other field, so nothing else may differ.
func withProbeDefaults(p *corev1.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	q := p.DeepCopy()
	if q.HTTPGet != nil && q.HTTPGet.Scheme == "" {
		q.HTTPGet.Scheme = corev1.URISchemeHTTP
	}
	return q
}

// withEnvDefaults is the sent env as stored: a field reference names API version v1.
func withEnvDefaults(env []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, len(env))
	for i, e := range env {
		out[i] = *e.DeepCopy()
		if f := out[i].ValueFrom; f != nil && f.FieldRef != nil {
			f.FieldRef.APIVersion = cmpOr(f.FieldRef.APIVersion, "v1")
		}
	}
	return out
}

// withPortDefaults is the sent container ports as stored: TCP.
func withPortDefaults(ports []corev1.ContainerPort) []corev1.ContainerPort {
	out := append([]corev1.ContainerPort(nil), ports...)
	for i := range out {
		out[i].Protocol = cmpOr(out[i].Protocol, corev1.ProtocolTCP)
	}
	return out
}

// kubeServerDefaults are the fields the export leaves to the server, with the words of
// the README's Export section that promise them (TestKubernetesServerDefaultsInREADME
// keeps the two together). Each check returns how many objects it looked at, so a
// default no case has an object for is an error, not a pass.
var kubeServerDefaults = []struct {
	readme string
	check  func(kubeObjects) (int, error)
}{
	{"`revisionHistoryLimit: 10`", each(kubeDeps, nil, func(d *appsv1.Deployment) error {
		return wantInt32(d.Spec.RevisionHistoryLimit, 10)
	})},
	{"`progressDeadlineSeconds: 600`", each(kubeDeps, nil, func(d *appsv1.Deployment) error {
		return wantInt32(d.Spec.ProgressDeadlineSeconds, 600)
	})},
	{"`restartPolicy: Always`", each(kubePods, nil, func(p *corev1.Pod) error {
		return wantEqual(p.Spec.RestartPolicy, corev1.RestartPolicyAlways)
	})},
	{"`dnsPolicy: ClusterFirst`", each(kubePods, nil, func(p *corev1.Pod) error {
		return wantEqual(p.Spec.DNSPolicy, corev1.DNSClusterFirst)
	})},
	{"`serviceAccountName: default`", each(kubePods, nil, func(p *corev1.Pod) error {
		return wantEqual(p.Spec.ServiceAccountName, "default")
	})},
	{"`imagePullPolicy: Always`", each(kubePods, latestImage, func(p *corev1.Pod) error {
		return wantEqual(p.Spec.Containers[0].ImagePullPolicy, corev1.PullAlways)
	})},
	{"`IfNotPresent`", each(kubePods, func(p *corev1.Pod) bool { return !latestImage(p) }, func(p *corev1.Pod) error {
		return wantEqual(p.Spec.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent)
	})},
	{"`tolerationSeconds: 300`", each(kubePods, nil, func(p *corev1.Pod) error {
		for _, key := range []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} {
			found := false
			for _, tol := range p.Spec.Tolerations {
				if tol.Key == key && tol.Effect == corev1.TaintEffectNoExecute {
					found = true
					if err := wantInt64(tol.TolerationSeconds, 300); err != nil {
						return fmt.Errorf("%s: %v", key, err)
					}
				}
			}
			if !found {
				return fmt.Errorf("no NoExecute toleration of %s in %+v", key, p.Spec.Tolerations)
			}
		}
		return nil
	})},
	{"`type: ClusterIP`", each(kubeSvcs, nil, func(s *corev1.Service) error {
		if err := wantEqual(s.Spec.Type, corev1.ServiceTypeClusterIP); err != nil {
			return err
		}
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			return fmt.Errorf("clusterIP %q, want an allocated address", s.Spec.ClusterIP)
		}
		return nil
	})},
	{"`timeoutSeconds: 10800`", each(kubeSvcs, func(s *corev1.Service) bool {
		return s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP
	}, func(s *corev1.Service) error {
		c := s.Spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil {
			return fmt.Errorf("sessionAffinity ClientIP without sessionAffinityConfig")
		}
		return wantInt32(c.ClientIP.TimeoutSeconds, 10800)
	})},
	{"names no `ingressClassName`", each(kubeIngs, nil, func(in *networkingv1.Ingress) error {
		if in.Spec.IngressClassName != nil {
			return fmt.Errorf("ingressClassName %q", *in.Spec.IngressClassName)
		}
		return nil
	})},
}

func kubeDeps(o kubeObjects) []appsv1.Deployment    { return o.deps }
func kubePods(o kubeObjects) []corev1.Pod           { return o.pods }
func kubeSvcs(o kubeObjects) []corev1.Service       { return o.svcs }
func kubeIngs(o kubeObjects) []networkingv1.Ingress { return o.ings }

func latestImage(p *corev1.Pod) bool { return strings.HasSuffix(p.Spec.Containers[0].Image, ":latest") }

// each makes a default's check: f on every object of one kind that applies (nil:
// all), the first error named after its object, and the count of objects checked.
func each[T any, P interface {
	*T
	GetName() string
}](items func(kubeObjects) []T, applies func(P) bool, f func(P) error) func(kubeObjects) (int, error) {
	return func(o kubeObjects) (int, error) {
		list, n := items(o), 0
		for i := range list {
			obj := P(&list[i])
			if applies != nil && !applies(obj) {
				continue
			}
			n++
			if err := f(obj); err != nil {
				return n, fmt.Errorf("%s: %v", obj.GetName(), err)
			}
		}
		return n, nil
	}
}

func wantEqual[T comparable](got, want T) error {
	if got != want {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	return nil
}

func wantInt32(got *int32, want int32) error {
	if got == nil {
		return fmt.Errorf("unset, want %d", want)
	}
	return wantEqual(*got, want)
}

func wantInt64(got *int64, want int64) error {
	if got == nil {
		return fmt.Errorf("unset, want %d", want)
	}
	return wantEqual(*got, want)
}

// TestKubernetesServerDefaultsInREADME keeps the README's list of what the API server
// fills in and the checks of TestKubernetesExportOnRealAPIServer the same list: each
// checked default is written in the README's Export section.
func TestKubernetesServerDefaultsInREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## Export\n")
	if start < 0 {
		t.Fatal("README.md has no ## Export section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	for _, def := range kubeServerDefaults {
		if !strings.Contains(section, def.readme) {
			t.Errorf("README's Export section does not say %s, which the API server fills in (see kubeServerDefaults)", def.readme)
		}
	}
}

// TestKubernetesWarnsLoopbackOnlyCommand: a process that listens on loopback only
// (flask run's default) is unreachable in a pod: the kubelet's probes and the Service
// connect to the pod's address, so it never becomes ready. export compose warned about
// it; export kubernetes wrote the Deployment silently.
func TestKubernetesWarnsLoopbackOnlyCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		command string
		warn    bool
	}{
		{"python3 -m flask --app app run --no-reload --port $PORT", true},
		{"gunicorn --bind 127.0.0.1:$PORT app:app", true},
		{"python3 -m flask --app app run --no-reload --host 0.0.0.0 --port $PORT", false},
	} {
		r, err := exportYAML(t, "processes:\n  web:\n    command: "+tc.command+"\n", "kubernetes", Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Contains(settings(r.Warnings), "kubernetes: web.command")
		if got != tc.warn {
			t.Errorf("%s: warning kubernetes: web.command %v, want %v (warnings %v)", tc.command, got, tc.warn, settings(r.Warnings))
		}
	}
}
