package export

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// tlsCase is the golden case with tls: {cert, key}, https_listen,
// redirect_http and proxy.hosts.
func tlsCase() goldenCase { return goldenCases()[6] }

// TestTLSCertificateHoldingItsKeyIsNamedAsItIs: HAProxy reads a certificate
// file that holds its key as it is, so the haproxy export copies nothing; a
// key apart is copied with the certificate into tls.pem, mode 0600.
func TestTLSCertificateHoldingItsKeyIsNamedAsItIs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, _ := os.ReadFile("testdata/tls/cert.pem")
	key, _ := os.ReadFile("testdata/tls/key.pem")
	both := filepath.Join(dir, "both.pem")
	if err := os.WriteFile(both, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tls string
		copied    bool
	}{
		{"key apart", "{cert: " + abs(t, "testdata/tls/cert.pem") + ", key: " + abs(t, "testdata/tls/key.pem") + "}", true},
		{"key in the certificate's file", "{cert: " + both + ", key: " + both + "}", false},
	} {
		r, err := exportYAML(t, "processes:\n  web:\n    command: python3 app.py\nproxy:\n  tls: "+tc.tls+"\n", "haproxy", Options{OutDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		cfg := string(r.Files[0].Data)
		i := slices.IndexFunc(r.Files, func(f File) bool { return f.Name == haproxyPEM })
		if copied := i >= 0; copied != tc.copied {
			t.Fatalf("%s: tls.pem written %v, want %v", tc.name, copied, tc.copied)
		}
		if tc.copied {
			if r.Files[i].Mode != 0o600 || !strings.Contains(string(r.Files[i].Data), string(key)) {
				t.Errorf("%s: tls.pem mode %o, holds the key %v; want 0600 and the key", tc.name, r.Files[i].Mode, strings.Contains(string(r.Files[i].Data), string(key)))
			}
			if !strings.Contains(cfg, "bind 127.0.0.1:8080 ssl crt "+filepath.Join(dir, haproxyPEM)+" alpn h2,http/1.1\n") {
				t.Errorf("%s: haproxy.cfg binds no ssl crt tls.pem:\n%s", tc.name, cfg)
			}
		} else if !strings.Contains(cfg, "ssl crt "+both+" alpn h2,http/1.1\n") {
			t.Errorf("%s: haproxy.cfg does not name %s:\n%s", tc.name, both, cfg)
		}
	}
}

func abs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTLSTrueNeedsTheLocalCAsFiles: export cannot import localca, so a
// manifest with tls: true needs the leaf's paths from its caller; without
// them the error says so rather than writing a config naming no certificate.
func TestTLSTrueNeedsTheLocalCAsFiles(t *testing.T) {
	t.Parallel()
	_, err := exportYAML(t, "processes:\n  web:\n    command: python3 app.py\nproxy:\n  tls: true\n", "haproxy", Options{})
	if err == nil || !strings.Contains(err.Error(), "local CA") || !strings.Contains(err.Error(), "TLSCert") {
		t.Fatalf("tls: true without the leaf's files: %v, want an error naming the local CA and TLSCert", err)
	}
}

// TestKubernetesIngressTLS decodes the TLS case's Ingress strictly: a tls:
// section naming the Secret for every host, a rule per host of proxy.hosts
// to its process's Service, and --ingress's host by prefix.
func TestKubernetesIngressTLS(t *testing.T) {
	t.Parallel()
	r := tlsCase().render(t, "kubernetes")
	_, _, ings := decodeKubernetes(t, r.Files[0].Data)
	if len(ings) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(ings))
	}
	in := ings[0]
	if len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != "tls-tls" ||
		!slices.Equal(in.Spec.TLS[0].Hosts, []string{"tls.example.com", "api.localhost", "app.localhost"}) {
		t.Errorf("tls: %+v, want secret tls-tls for tls.example.com, api.localhost, app.localhost", in.Spec.TLS)
	}
	routes := map[string]string{}
	for _, rule := range in.Spec.Rules {
		for _, p := range rule.HTTP.Paths {
			routes[rule.Host+p.Path] = p.Backend.Service.Name
		}
	}
	want := map[string]string{"tls.example.com/": "tls-web", "tls.example.com/api": "tls-api", "api.localhost/": "tls-api", "app.localhost/": "tls-web"}
	if len(routes) != len(want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	for k, v := range want {
		if routes[k] != v {
			t.Errorf("route %s → %q, want %s (all: %v)", k, routes[k], v, routes)
		}
	}
	if !strings.Contains(string(r.Files[0].Data), "kubectl create secret tls tls-tls --cert=") {
		t.Error("kubernetes.yaml does not say how to create the TLS Secret")
	}
}

// TestComposeAndSwarmMountTheCertificate reads the TLS case's compose and
// stack files back through docker-compose config and docker stack config
// (the engines' own parsers): the balancer publishes both ports and gets the
// certificate and key where its config names them, a bind mount in compose,
// Swarm secrets named by their content in the stack.
func TestComposeAndSwarmMountTheCertificate(t *testing.T) {
	t.Parallel()
	compose := needTool(t, "docker-compose", "docker-compose")
	docker := needTool(t, "docker", "docker.io")
	gc := tlsCase()
	c := gc.load(t, "compose")
	dir := c.opts.OutDir // the manifest's directory: the cert's paths are relative to it
	for _, format := range []string{"compose", "swarm"} {
		r := mustRender(t, c, format)
		out := t.TempDir()
		for _, f := range r.Files {
			if err := os.WriteFile(filepath.Join(out, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var cfg struct {
			Services map[string]struct {
				Ports   []any    `yaml:"ports"`
				Volumes []any    `yaml:"volumes"`
				Secrets []any    `yaml:"secrets"`
				Command []string `yaml:"command"`
			} `yaml:"services"`
			Secrets map[string]struct{ Name, File string } `yaml:"secrets"`
		}
		var text string
		var err error
		if format == "compose" {
			text, err = runTool(t, out, compose, "--project-directory", dir, "-f", filepath.Join(out, "compose.yaml"), "config")
		} else {
			text, err = runTool(t, out, docker, "stack", "config", "-c", filepath.Join(out, "stack.yaml"))
		}
		if err != nil {
			t.Fatalf("%s config: %v\n%s", format, err, text)
		}
		if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
			t.Fatal(err)
		}
		bal := cfg.Services["balancer"]
		got := strings.Join(flat(bal.Ports), " ") + " | " + strings.Join(flat(bal.Volumes), " ") + " | " + strings.Join(flat(bal.Secrets), " ")
		for _, want := range wantMounted(format, abs(t, "testdata/tls")) {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the balancer has %s; want %s in it", format, got, want)
			}
		}
		if format == "swarm" {
			for _, s := range []string{"tls_cert", "tls_key"} {
				if !strings.HasPrefix(cfg.Secrets[s].Name, "tls-"+strings.ReplaceAll(s, "_", "-")+"-") || !strings.HasSuffix(cfg.Secrets[s].File, ".pem") {
					t.Errorf("swarm: secret %s %+v, want a name by content and the file", s, cfg.Secrets[s])
				}
			}
		}
	}
}

// wantMounted is what the engines' parsers print for the TLS case's balancer.
func wantMounted(format, certDir string) []string {
	if format == "compose" {
		return []string{"8080", "8443", certDir + "/cert.pem", containerCert, certDir + "/key.pem", containerKey}
	}
	return []string{"8080", "8443", "source:tls_cert target:devcluster-tls.pem", "source:tls_key target:devcluster-tls.pem.key"}
}

// flat writes each YAML value (a string or a mapping) as one line.
func flat(vs []any) []string {
	var out []string
	for _, v := range vs {
		switch v := v.(type) {
		case map[string]any:
			var kv []string
			for k, x := range v {
				kv = append(kv, k+":"+strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(yamlString(x), "\n", ""), "'", ""), "\"")))
			}
			slices.Sort(kv)
			out = append(out, strings.Join(kv, " "))
		default:
			out = append(out, yamlString(v))
		}
	}
	return out
}

func yamlString(v any) string {
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}
