package export

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

// exportYAML parses an inline devcluster.yaml and exports it.
func exportYAML(t *testing.T, manifest, format string, opts Options) (*Result, error) {
	t.Helper()
	m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir == "" {
		m.Dir = t.TempDir()
	}
	opts.App = firstNonEmpty(opts.App, "app")
	opts.WorkDir = firstNonEmpty(opts.WorkDir, "/srv/app")
	c, err := Build(m, opts)
	if err != nil {
		return nil, err
	}
	return Render(c, format)
}

func settings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Format+": "+w.Setting)
	}
	return out
}

const plainWeb = "processes:\n  web:\n    command: python3 -m http.server --bind 0.0.0.0 $PORT\n"

// TestWarnings has one case per setting a format cannot express: the export
// names the format and the setting, and the file gets the nearest equivalent.
func TestWarnings(t *testing.T) {
	t.Parallel()
	withEnv := Options{Env: []procfile.EnvVar{{Key: "SECRET", Value: "x"}, {Key: "MODE", Value: "dev"}}}
	tests := []struct {
		name, format, manifest string
		opts                   Options
		want                   string // "FORMAT: SETTING"
		inFile                 string // what the file does instead, if anything
	}{
		{"watch/haproxy", "haproxy", plainWeb + "    watch: {paths: [src]}\n", Options{}, "haproxy: web.watch", ""},
		{"watch/nginx", "nginx", plainWeb + "    watch: {paths: [src]}\n", Options{}, "nginx: web.watch", ""},
		{"watch/compose", "compose", plainWeb + "    watch: {paths: [src]}\n", Options{}, "compose: web.watch", ""},
		{"watch/kubernetes", "kubernetes", plainWeb + "    watch: {paths: [src]}\n", Options{}, "kubernetes: web.watch", ""},
		{"watch/systemd", "systemd", plainWeb + "    watch: {paths: [src]}\n", Options{}, "systemd: web.watch", ""},
		{"standby/haproxy", "haproxy", plainWeb + "    reload: {standby: true}\n", Options{}, "haproxy: web.reload.standby", ""},
		{"standby/kubernetes", "kubernetes", plainWeb + "    reload: {standby: true}\n", Options{}, "kubernetes: web.reload.standby", ""},

		{"nginx first", "nginx", "proxy: {strategy: first}\n" + plainWeb, Options{}, "nginx: proxy.strategy", `nginx has no "first" method`},
		{"nginx sticky cookie", "nginx", "proxy: {sticky: cookie}\n" + plainWeb, Options{}, "nginx: proxy.sticky", "ip_hash;"},
		{"nginx health path", "nginx", plainWeb + "    health: /health\n", Options{}, "nginx: web.health.path", "max_fails=2"},
		{"nginx health without path", "nginx", plainWeb + "    health: {fall: 4}\n", Options{}, "nginx: web.health", "max_fails=4"},
		{"compose nginx sticky cookie", "compose", "proxy: {sticky: cookie}\n" + plainWeb, Options{Balancer: "nginx"}, "compose: proxy.sticky", ""},

		{"compose health rise", "compose", plainWeb + "    health: {path: /health, rise: 3}\n", Options{}, "compose: web.health.rise", ""},
		{"compose loopback", "compose", "processes:\n  web: python3 -m flask run --no-reload --port $PORT\n", Options{}, "compose: web.command", ""},
		{"compose dev server", "compose", "processes:\n  web: python3 -m flask --app app run --no-reload --port $PORT\n", Options{Dockerfile: true}, "compose: web.command", ""},

		{"kubernetes env file", "kubernetes", plainWeb, withEnv, "kubernetes: env file", "app-env"},
		{"kubernetes leastconn", "kubernetes", "proxy: {strategy: leastconn}\n" + plainWeb, Options{}, "kubernetes: proxy.strategy", ""},
		{"kubernetes uri", "kubernetes", "proxy: {strategy: uri}\n" + plainWeb, Options{}, "kubernetes: proxy.strategy", ""},
		{"kubernetes first", "kubernetes", "proxy: {strategy: first}\n" + plainWeb, Options{}, "kubernetes: proxy.strategy", ""},
		{"kubernetes sticky cookie", "kubernetes", "proxy: {sticky: cookie}\n" + plainWeb, Options{}, "kubernetes: proxy.sticky", "nginx.ingress.kubernetes.io/affinity: cookie"},
		{"kubernetes restart", "kubernetes", plainWeb + "    restart: never\n", Options{}, "kubernetes: web.restart", ""},
		{"kubernetes stop signal", "kubernetes", plainWeb + "    stop_signal: INT\n", Options{}, "kubernetes: web.stop_signal", ""},
		{"kubernetes interval", "kubernetes", plainWeb + "    health: {interval: 1500ms}\n", Options{}, "kubernetes: web.health.interval", "periodSeconds: 2"},
		{"kubernetes timeout", "kubernetes", plainWeb + "    health: {timeout: 200ms}\n", Options{}, "kubernetes: web.health.timeout", "timeoutSeconds: 1"},
		{"kubernetes weight", "kubernetes", plainWeb + "    weight: 3\n", Options{}, "kubernetes: web.weight", ""},
		{"kubernetes maxconn", "kubernetes", plainWeb + "    maxconn: 10\n", Options{}, "kubernetes: web.maxconn", ""},
		{"kubernetes prefix", "kubernetes", plainWeb + "    proxy: {prefix: /api}\n", Options{}, "kubernetes: web.proxy.prefix", ""},

		{"compose reload both", "compose", plainWeb + "    instances: 4\n    reload: {max_unavailable: 1, max_surge: 2}\n", Options{}, "compose: web.reload", "order: start-first"},
		{"systemd reload", "systemd", plainWeb + "    reload: {max_unavailable: 2}\n", Options{}, "systemd: web.reload", ""},
		{"systemd balancer", "systemd", plainWeb, Options{}, "systemd: proxy", ""},
		{"systemd health", "systemd", plainWeb + "    health: /health\n", Options{}, "systemd: web.health", ""},
		{"systemd env override", "systemd", plainWeb + "    env: {MODE: prod}\n", withEnv, "systemd: web.env.MODE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := exportYAML(t, tt.manifest, tt.format, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := settings(r.Warnings)
			if !slices.Contains(got, tt.want) {
				t.Fatalf("warnings %q, want one for %q", got, tt.want)
			}
			for _, w := range r.Warnings {
				if w.Message == "" || !strings.HasPrefix(w.String(), w.Format+": "+w.Setting+": ") {
					t.Errorf("warning %q does not name the format and the setting", w)
				}
			}
			if tt.inFile != "" {
				var all strings.Builder
				for _, f := range r.Files {
					all.Write(f.Data)
				}
				if !strings.Contains(all.String(), tt.inFile) {
					t.Errorf("the files do not contain %q:\n%s", tt.inFile, all.String())
				}
			}
		})
	}
}

// TestNoWarningsWhenExpressible: what a format can write is not a warning.
func TestNoWarningsWhenExpressible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, format, manifest string
		opts                   Options
	}{
		{"haproxy everything", "haproxy", "proxy: {strategy: first, sticky: cookie, retries: 1}\n" + plainWeb +
			"    health: {path: /health, interval: 500ms, rise: 3}\n    weight: 4\n    maxconn: 9\n    stop_signal: INT\n    restart: never\n", Options{}},
		{"nginx leastconn", "nginx", "proxy: {strategy: leastconn}\n" + plainWeb + "    weight: 2\n    maxconn: 5\n", Options{}},
		{"kubernetes sticky cookie with ingress", "kubernetes", "proxy: {sticky: cookie}\n" + plainWeb, Options{Ingress: "app.example.com"}},
		{"kubernetes sticky source", "kubernetes", "proxy: {sticky: source}\n" + plainWeb, Options{}},
		{"systemd worker", "systemd", "processes:\n  worker: python3 worker.py\n", Options{}},
		{"compose", "compose", plainWeb + "    health: /health\n", Options{}},
		{"compose surge", "compose", plainWeb + "    reload: {max_unavailable: 0, max_surge: 1}\n", Options{}},
		{"kubernetes reload", "kubernetes", plainWeb + "    instances: 4\n    reload: {max_unavailable: 50%, max_surge: 1}\n", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := exportYAML(t, tt.manifest, tt.format, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Warnings) > 0 {
				t.Errorf("got warnings %q, want none", r.Warnings)
			}
		})
	}
}

// TestDockerfileKeptWhenPresent: --dockerfile never overwrites the app's own
// Dockerfile, and says so.
func TestDockerfileKeptWhenPresent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader("processes:\n  web: python3 -m flask --app app run --no-reload --host 0.0.0.0 --port $PORT\n"))
	if err != nil {
		t.Fatal(err)
	}
	m.Dir = dir
	c, err := Build(m, Options{Dockerfile: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(c, "compose")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files {
		if f.Name == "Dockerfile" {
			t.Errorf("wrote a Dockerfile over the app's own")
		}
	}
	if got := settings(r.Warnings); !slices.Contains(got, "compose: --dockerfile") {
		t.Errorf("warnings %q, want one for --dockerfile", got)
	}
}

// TestRolloutFollowsReload: the manifest's reload: reaches the rolling
// updates with devcluster's rounding; without it, one at a time and no surge,
// as devcluster up reloads.
func TestRolloutFollowsReload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reload         string
		instances      int
		unavail, surge int
	}{
		{"", 3, 1, 0},
		{"    reload: {max_unavailable: 50%}\n", 4, 2, 0},
		{"    reload: {max_unavailable: 0, max_surge: 25%}\n", 3, 0, 1},
	}
	for _, tt := range tests {
		m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader(plainWeb+tt.reload))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Build(m, Options{Formation: map[string]int{"web": tt.instances}})
		if err != nil {
			t.Fatal(err)
		}
		if ro := c.Processes[0].Rollout; ro.MaxUnavailable != tt.unavail || ro.MaxSurge != tt.surge {
			t.Errorf("%q with %d instances: got %d/%d, want maxUnavailable %d, maxSurge %d", tt.reload, tt.instances, ro.MaxUnavailable, ro.MaxSurge, tt.unavail, tt.surge)
		}
	}
}

// TestPortOfAProcessWithoutInstances: a process the formation runs none of
// keeps the port --port gives it (its Service, expose and template unit
// name it), not the default base's.
func TestPortOfAProcessWithoutInstances(t *testing.T) {
	t.Parallel()
	m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader(plainWeb+"  api: python3 api.py\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(m, Options{BasePort: 7000, Formation: map[string]int{"api": 0}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Processes[1].Port; got != 7100 {
		t.Errorf("api with no instance: port %d, want 7100 (base 7000 + 100)", got)
	}
}
