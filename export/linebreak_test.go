package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/devcluster/devcluster/procfile"
)

// TestHeaderLineSeparatorInjectsNoKey (issue 21, item 10): YAML, like the
// PyYAML docker-compose uses, ends a line at U+2028, U+2029 and U+0085 too,
// so a manifest path holding one broke out of the header comment and what
// followed it became a key of the compose file. The header now keeps every
// such character off the comment's line.
func TestHeaderLineSeparatorInjectsNoKey(t *testing.T) {
	t.Parallel()
	for _, sep := range []string{"\u2028", "\u2029", "\u0085"} {
		m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader(plainWeb))
		if err != nil {
			t.Fatal(err)
		}
		m.Dir = t.TempDir()
		path := "/tmp/x" + sep + "injected: 1" + sep + "#"
		for _, format := range []string{"compose", "kubernetes", "swarm"} {
			c, err := Build(m, Options{App: "app", Manifest: path, Invocation: "devcluster export " + format + " -f '" + path + "'"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Render(c, format)
			if err != nil {
				t.Fatal(err)
			}
			data := r.Files[0].Data
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					break
				}
				if _, ok := doc["injected"]; ok {
					t.Errorf("%s with %q in the manifest path: the key after it reached the file:\n%s", format, sep, data)
				}
			}
			if strings.Contains(string(data), sep) {
				t.Errorf("%s: the header keeps %q", format, sep)
			}
		}
	}
}

// TestSystemdWorkingDirectoryEndingInBackslash (issue 21, item 10): systemd
// joins a line ending in "\" with the next one, so a project directory whose
// name ends in a backslash swallowed the EnvironmentFile= or Environment=
// line after WorkingDirectory=. The directory is written with a trailing "/"
// (the same directory), and an env file whose name ends in "\" is refused.
func TestSystemdWorkingDirectoryEndingInBackslash(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), `proj\`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := procfile.ParseYAML(filepath.Join(dir, "devcluster.yaml"), strings.NewReader(plainWeb))
	if err != nil {
		t.Fatal(err)
	}
	m.Dir = dir
	c, err := Build(m, Options{App: "app", Invocation: "devcluster export systemd"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(c, "systemd")
	if err != nil {
		t.Fatal(err)
	}
	unit := systemdSettings(string(r.Files[0].Data))
	if got := unit["WorkingDirectory"]; filepath.Clean(got) != dir {
		t.Errorf("systemd reads WorkingDirectory=%q, want %q", got, dir)
	}
	if unit["Type"] != "simple" || unit["ExecStart"] == "" {
		t.Errorf("the lines after WorkingDirectory= were swallowed: %q", unit)
	}

	c, err = Build(m, Options{App: "app", EnvFiles: []string{`/srv/env\`}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(c, "systemd"); err == nil || !strings.Contains(err.Error(), `ends in "\"`) {
		t.Errorf("an env file ending in a backslash: got %v, want an error saying so", err)
	}
}

// systemdSettings reads a unit's settings as systemd does: a line ending in
// a backslash goes on with the next one (the backslash becomes a space),
// comments are skipped; the last assignment of a key wins.
func systemdSettings(unit string) map[string]string {
	out := map[string]string{}
	var cont string
	for _, line := range strings.Split(unit, "\n") {
		if cont == "" && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, cont = cont+line, ""
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// TestComposeConfigReadsNoKeyFromTheHeader runs docker-compose (PyYAML, which
// ends a line at U+2028) over a compose file whose manifest path holds one and
// then a key: the resolved configuration must not have it.
func TestComposeConfigReadsNoKeyFromTheHeader(t *testing.T) {
	t.Parallel()
	compose := needTool(t, "docker-compose", "docker-compose")
	m, err := procfile.ParseYAML("devcluster.yaml", strings.NewReader(plainWeb))
	if err != nil {
		t.Fatal(err)
	}
	m.Dir = t.TempDir()
	path := "/tmp/x\u2028volumes: {injected: {}}\u2028#"
	c, err := Build(m, Options{App: "app", Manifest: path, OutDir: m.Dir, Invocation: "devcluster export compose"})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, mustRender(t, c, "compose"))
	out, err := runTool(t, dir, compose, "-f", "compose.yaml", "config")
	if err != nil || strings.Contains(out, "injected") {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
}
