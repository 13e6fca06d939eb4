package export

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenCase is one manifest exported in every format with fixed options, so
// that the output depends on nothing of the machine.
type goldenCase struct {
	name, manifest, formation string
	env                       string // env file next to the manifest, or ""
	opts                      Options
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{name: "flask", manifest: "../Procfile.example", formation: "web=3", opts: Options{Dockerfile: true}},
		{name: "django", manifest: "../examples/django/Procfile", opts: Options{Dockerfile: true, Balancer: "nginx"}},
		{name: "gunicorn", manifest: "../examples/gunicorn/Procfile", formation: "web=3"},
		{name: "sticky", manifest: "testdata/sticky/devcluster.yaml", opts: Options{Ingress: "sticky.example.com"}},
		{name: "health", manifest: "testdata/health/devcluster.yaml", env: ".env"},
		{name: "quoting", manifest: "testdata/quoting/devcluster.yaml"},
		// HTTPS with the app's certificate on https_listen, redirect_http and
		// proxy.hosts; and tls: true, whose leaf cmd passes in (here a test one).
		{name: "tls", manifest: "testdata/tls/devcluster.yaml", opts: Options{Ingress: "tls.example.com"}},
		{name: "tls-localca", manifest: "testdata/tls-localca/devcluster.yaml",
			opts: Options{TLSCert: "testdata/tls/cert.pem", TLSKey: "testdata/tls/key.pem"}},
		// An ASGI app (issue 22): the Dockerfile serves it with uvicorn on every address.
		{name: "fastapi", manifest: "../examples/fastapi/devcluster.yaml", formation: "web=2", opts: Options{Dockerfile: true}},
	}
}

// load builds the case's cluster: the manifest, its env file, the formation,
// and machine-independent paths (/srv/NAME stands for the manifest's directory
// where a format needs an absolute one).
func (gc goldenCase) load(t testing.TB, format string) *Cluster {
	t.Helper()
	m, err := procfile.Load(gc.manifest)
	if err != nil {
		t.Fatal(err)
	}
	formation, err := procfile.ParseFormation(gc.formation)
	if err != nil {
		t.Fatal(err)
	}
	opts := gc.opts
	opts.App = gc.name
	opts.Manifest = strings.TrimPrefix(gc.manifest, "../")
	opts.Invocation = "devcluster export " + format + " -f " + opts.Manifest
	if gc.formation != "" {
		opts.Invocation += " -m " + gc.formation
	}
	opts.Formation = formation
	for _, f := range []*string{&opts.TLSCert, &opts.TLSKey} {
		if *f != "" {
			abs, err := filepath.Abs(*f)
			if err != nil {
				t.Fatal(err)
			}
			*f = abs
		}
	}
	opts.WorkDir = "/srv/" + gc.name
	opts.OutDir = m.Dir
	if gc.env != "" {
		path := filepath.Join(filepath.Dir(gc.manifest), gc.env)
		vars, err := procfile.LoadEnvFiles([]string{path}, false)
		if err != nil {
			t.Fatal(err)
		}
		opts.Env = vars
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		opts.EnvFiles = []string{abs}
	}
	c, err := Build(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// render exports the case in format; compose also writes the Dockerfile.
func (gc goldenCase) render(t testing.TB, format string) *Result {
	t.Helper()
	c := gc.load(t, format)
	r, err := Render(c, format)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden compares every format's files for every case with
// testdata/golden/CASE/FORMAT/; go test ./export -update rewrites them. The
// warnings are part of the golden output (warnings.txt).
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, gc := range goldenCases() {
		for _, format := range FormatNames() {
			t.Run(gc.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				r := gc.render(t, format)
				dir := filepath.Join("testdata", "golden", gc.name, format)
				files := map[string][]byte{}
				for _, f := range r.Files {
					files[f.Name] = machineFree(t, f.Data)
				}
				var warns strings.Builder
				for _, w := range r.Warnings {
					warns.WriteString(w.String() + "\n")
				}
				files["warnings.txt"] = machineFree(t, []byte(warns.String()))
				if *update {
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					for name, data := range files {
						if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					return
				}
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatalf("%v (run go test ./export -update to write the golden files)", err)
				}
				var have []string
				for _, e := range entries {
					have = append(have, e.Name())
				}
				var want []string
				for name := range files {
					want = append(want, name)
				}
				slices.Sort(want)
				if !slices.Equal(have, want) {
					t.Errorf("files: got %v, golden has %v", want, have)
				}
				for name, data := range files {
					golden, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil {
						continue
					}
					if string(golden) != string(data) {
						t.Errorf("%s differs from %s (go test ./export -update rewrites it):\n%s", name, filepath.Join(dir, name), diffLines(string(golden), string(data)))
					}
				}
			})
		}
	}
}

// machineFree writes the repository's directory as /REPO: a certificate's
// path is absolute in haproxy.cfg and nginx.conf, as the manifest resolved it.
func machineFree(t *testing.T, data []byte) []byte {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(data), repo+string(filepath.Separator), "/REPO/"))
}

// TestRenderIsDeterministic renders every case twice: map order, time and
// the machine must not show in the output.
func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, gc := range goldenCases() {
		for _, format := range FormatNames() {
			a, b := gc.render(t, format), gc.render(t, format)
			for i := range a.Files {
				if string(a.Files[i].Data) != string(b.Files[i].Data) {
					t.Errorf("%s/%s: %s differs between two renders", gc.name, format, a.Files[i].Name)
				}
			}
		}
	}
}

// diffLines shows the first lines that differ, enough to see what changed.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			shown++
			b.WriteString("line " + itoa(i+1) + ":\n  golden: " + wl + "\n  got:    " + gl + "\n")
		}
	}
	return b.String()
}
