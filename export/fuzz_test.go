package export

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/devcluster/devcluster/procfile"
)

// FuzzExportKeepsValuesData feeds arbitrary commands, env values, health
// paths and prefixes (within what procfile accepts) to every format and checks
// that none can add a line or a directive: each export either refuses the
// value with an error or writes it so that reading the file back gives the
// value unchanged. The first seed holds the hostile values of
// testdata/quoting, which the real tools check in tools_test.go.
func FuzzExportKeepsValuesData(f *testing.F) {
	f.Add(`printf '%s\n' "it's $HOME" 100% \; {x} \\ # c`+"\nexec python3 app.py", "say \"hi\" $PORT %i\nline two", `/he"a'l$th%#;{x}\`, `/a"b'c$d%e;f{g}`)
	f.Add("python3 app.py", "", "/health", "/api")
	f.Fuzz(func(t *testing.T, command, value, health, prefix string) {
		command = strings.TrimSpace(command)
		if command == "" || strings.ContainsRune(command+value+health+prefix, 0) ||
			!validPath(health) || !validPath(prefix) {
			t.Skip("procfile refuses it")
		}
		on := true
		m := &procfile.Manifest{Path: "devcluster.yaml", Dir: "/srv/app", Processes: []*procfile.Process{{
			Name: "web", Command: command, Env: map[string]string{"V": value},
			Health: procfile.Health{Path: health}, Balanced: &on, Prefix: prefix,
		}}}
		c, err := Build(m, Options{App: "app", Invocation: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		p := c.Processes[0]
		checkHAProxyKeeps(t, c, health)
		checkSystemdKeeps(t, c, p)
		for _, format := range []string{"compose", "kubernetes"} {
			r, err := Render(c, format)
			if err != nil {
				if format == "compose" && strings.Contains(err.Error(), "control character") {
					continue // its haproxy.cfg refuses the path, as haproxy's does
				}
				t.Fatalf("%s: %v", format, err)
			}
			checkYAMLKeeps(t, format, r.Files[0].Data, p, value)
		}
	})
}

// validPath is procfile's rule for health paths and prefixes.
func validPath(s string) bool { return strings.HasPrefix(s, "/") && !strings.ContainsAny(s, " \t\r\n") }

func checkHAProxyKeeps(t *testing.T, c *Cluster, health string) {
	r, err := Render(c, "haproxy")
	if err != nil {
		if !strings.Contains(err.Error(), "control character") {
			t.Fatalf("haproxy: %v", err)
		}
		return
	}
	var got []string
	for _, line := range strings.Split(string(r.Files[0].Data), "\n") {
		if w, ok := strings.CutPrefix(line, "    option httpchk GET "); ok {
			got = append(got, haproxyUnescape(w))
		}
	}
	if len(got) != 1 || got[0] != health {
		t.Fatalf("haproxy: httpchk paths %q, want exactly %q", got, health)
	}
}

// haproxyUnescape reads one unquoted HAProxy word: a backslash takes the next
// character literally, an unescaped space or "#" would end the word.
func haproxyUnescape(w string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch {
		case w[i] == '\\' && i+1 < len(w):
			i++
			b.WriteByte(w[i])
		case w[i] == ' ' || w[i] == '#':
			return b.String() + "<END>"
		default:
			b.WriteByte(w[i])
		}
	}
	return b.String()
}

func checkSystemdKeeps(t *testing.T, c *Cluster, p *Process) {
	r, err := Render(c, "systemd")
	if err != nil {
		t.Fatalf("systemd: %v", err)
	}
	unit := string(r.Files[0].Data)
	if n := strings.Count(unit, "\nExecStart="); n != 1 {
		t.Fatalf("systemd: %d ExecStart= lines, want 1:\n%s", n, unit)
	}
	if n := strings.Count(unit, "\nEnvironment="); n != len(p.BaseEnv())+2+len(p.Env) {
		t.Fatalf("systemd: %d Environment= lines, want %d:\n%s", n, len(p.BaseEnv())+2+len(p.Env), unit)
	}
	for _, line := range strings.Split(unit, "\n") {
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Fatalf("systemd: a raw control character in %q", line)
		}
		if strings.HasPrefix(line, "ExecStart=") && strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `"`) {
			t.Fatalf("systemd: ExecStart= ends in a continuation: %q", line)
		}
	}
}

// checkYAMLKeeps reads the web service or Deployment back: after compose's and
// Kubernetes' "$$" → "$", the command and the env value are the manifest's.
func checkYAMLKeeps(t *testing.T, format string, data []byte, p *Process, value string) {
	var command []string
	var env string
	if format == "compose" {
		var f struct {
			Services map[string]struct {
				Command     []string          `yaml:"command"`
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("compose: %v\n%s", err, data)
		}
		command, env = f.Services["web"].Command, f.Services["web"].Environment["V"]
	} else {
		doc := strings.Split(string(data), "\n---\n")[1]
		var d struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Command []string `yaml:"command"`
							Env     []struct{ Name, Value string }
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatalf("kubernetes: %v\n%s", err, doc)
		}
		ct := d.Spec.Template.Spec.Containers[0]
		command = ct.Command
		for _, e := range ct.Env {
			if e.Name == "V" {
				env = e.Value
			}
		}
	}
	if len(command) != 3 || unescapeK8s(command[2]) != p.ShellCommand() {
		t.Fatalf("%s: command %q, want [/bin/sh -c %q]", format, command, p.ShellCommand())
	}
	if unescapeK8s(env) != value {
		t.Fatalf("%s: V = %q, want %q", format, unescapeK8s(env), value)
	}
}
