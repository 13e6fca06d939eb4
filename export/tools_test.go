package export

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/devcluster/devcluster/internal/tstest"
)

// needTool returns the path of a real tool the test checks the export with, by
// tstest.NeedTool's rule: skipped on a developer's machine with the line that installs
// it, a failure under CI (.ci/run installs them all).
func needTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	return tstest.NeedTool(t, name, "sudo apt-get install -y "+debianPackage)
}

// runTool runs a checker with a deadline and returns its combined output.
func runTool(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir) // docker-compose reads ~/.docker
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runAsNobody runs a checker as user nobody (65534) in dir, made writable for
// it: the exported nginx.conf must run without root, all its paths under -p.
func runAsNobody(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's own parent is 0700; nothing above it (os.TempDir) is touched.
	for d := filepath.Dir(dir); strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeFiles writes r's files into a new temporary directory.
func writeFiles(t *testing.T, r *Result) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range r.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// renderTo exports the case into a new temporary directory as the command
// does (-o DIR: haproxy's tls.pem is named there). In compose's and swarm's
// balancer config the certificate is where the container mounts it: the
// check reads the manifest's files there instead.
func (gc goldenCase) renderTo(t *testing.T, format string) string {
	t.Helper()
	dir := t.TempDir()
	c := gc.load(t, format)
	c.opts.OutDir = dir
	r, err := Render(c, format)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c.TLS != nil && (format == "compose" || format == "swarm") {
		copyFile(t, c.TLS.Cert, filepath.Join(dir, "tls.pem"))
		copyFile(t, c.TLS.Key, filepath.Join(dir, "tls.pem.key")) // HAProxy finds it at CERT.key, as mounted
		if gc.opts.Balancer == "nginx" {
			replaceIn(t, filepath.Join(dir, "nginx.conf"), containerKey, filepath.Join(dir, "tls.pem.key"))
			replaceIn(t, filepath.Join(dir, "nginx.conf"), containerCert, filepath.Join(dir, "tls.pem"))
		} else {
			replaceIn(t, filepath.Join(dir, "haproxy.cfg"), containerCert, filepath.Join(dir, "tls.pem"))
		}
	}
	return dir
}

func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not name %s", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHAProxyAcceptsExport runs the real "haproxy -c" on the haproxy export
// and on compose's haproxy.cfg of every case; a warning counts as a failure,
// since it means HAProxy reads the file differently from what it says.
func TestHAProxyAcceptsExport(t *testing.T) {
	t.Parallel()
	haproxy := needTool(t, "haproxy", "haproxy")
	for _, gc := range goldenCases() {
		for _, format := range []string{"haproxy", "compose"} {
			t.Run(gc.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				gc := gc // each subtest its own copy: the inner loop shares gc
				gc.opts.Balancer = "haproxy"
				dir := gc.renderTo(t, format)
				out, err := runTool(t, dir, haproxy, "-c", "-f", "haproxy.cfg")
				if err != nil || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ALERT]") {
					t.Fatalf("haproxy -c -f haproxy.cfg: %v\n%s", err, out)
				}
			})
		}
	}
}

// TestNginxAcceptsExport runs the real "nginx -t" on every case with a
// temporary prefix (pid and temporary files go there), so it runs as any user.
// Compose's nginx.conf uses "resolve" (nginx 1.27.3+): with an older nginx it
// is checked without it.
func TestNginxAcceptsExport(t *testing.T) {
	t.Parallel()
	nginx := needTool(t, "nginx", "nginx")
	resolve := nginxHasResolve(t, nginx)
	for _, gc := range goldenCases() {
		for _, format := range []string{"nginx", "compose"} {
			t.Run(gc.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				gc := gc // each subtest its own copy: the inner loop shares gc
				gc.opts.Balancer = "nginx"
				dir := gc.renderTo(t, format)
				if format == "compose" && !resolve {
					withoutResolve(t, dir)
				}
				args := []string{"-t", "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")}
				out, err := runTool(t, dir, nginx, args...)
				if err != nil || strings.Contains(out, "[warn]") || strings.Contains(out, "[emerg]") {
					t.Fatalf("nginx -t: %v\n%s", err, out)
				}
				if os.Geteuid() == 0 && format == "nginx" { // and as a user, as the header says it runs
					dir := gc.renderTo(t, format)
					if c := gc.load(t, format); c.TLS != nil { // nobody reads the key where the export names it
						copyFile(t, c.TLS.Cert, filepath.Join(dir, "cert.pem"))
						copyFile(t, c.TLS.Key, filepath.Join(dir, "key.pem"))
						replaceIn(t, filepath.Join(dir, "nginx.conf"), c.TLS.Cert, filepath.Join(dir, "cert.pem"))
						replaceIn(t, filepath.Join(dir, "nginx.conf"), c.TLS.Key, filepath.Join(dir, "key.pem"))
					}
					out, err := runAsNobody(t, dir, nginx, "-t", "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
					if err != nil || strings.Contains(out, "[warn]") || strings.Contains(out, "[emerg]") {
						t.Fatalf("nginx -t as nobody: %v\n%s", err, out)
					}
				}
			})
		}
	}
}

// withoutResolve rewrites compose's nginx.conf for an nginx older than 1.27.3,
// which has no "resolve" and cannot resolve the service names here: every
// other line is still checked by nginx -t.
func withoutResolve(t *testing.T, dir string) {
	path := filepath.Join(dir, "nginx.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`server [a-z0-9-]+:(\d+)(.*) resolve;`).ReplaceAllString(string(data), "server 127.0.0.1:$1$2;")
	if s == string(data) {
		t.Fatal("compose's nginx.conf has no server ... resolve line")
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

var nginxVersionRE = regexp.MustCompile(`nginx/(\d+)\.(\d+)\.(\d+)`)

func nginxHasResolve(t *testing.T, nginx string) bool {
	out, _ := runTool(t, t.TempDir(), nginx, "-v")
	m := nginxVersionRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("nginx -v: cannot read the version in %q", out)
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v[0] > 1 || v[0] == 1 && (v[1] > 27 || v[1] == 27 && v[2] >= 3)
}

// TestSystemdVerifiesExport runs the real "systemd-analyze verify" on the
// target and one instance of every template unit the target wants.
func TestSystemdVerifiesExport(t *testing.T) {
	t.Parallel()
	analyze := needTool(t, "systemd-analyze", "systemd")
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			r := gc.render(t, "systemd")
			dir := writeFiles(t, r)
			args := []string{"verify", "--man=no"}
			for _, f := range r.Files {
				if strings.HasSuffix(f.Name, ".target") {
					args = append(args, filepath.Join(dir, f.Name))
					for _, line := range strings.Split(string(f.Data), "\n") {
						unit, ok := strings.CutPrefix(line, "Wants=")
						if !ok {
							continue
						}
						template := regexp.MustCompile(`@[^.]*\.service$`).ReplaceAllString(unit, "@.service")
						if err := os.Symlink(template, filepath.Join(dir, unit)); err != nil && !os.IsExist(err) {
							t.Fatal(err)
						}
						args = append(args, filepath.Join(dir, unit))
					}
				}
			}
			out, err := runTool(t, dir, analyze, args...)
			if err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestSystemdVerifyFailsOnABadUnit shows the check above can fail.
func TestSystemdVerifyFailsOnABadUnit(t *testing.T) {
	t.Parallel()
	analyze := needTool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	unit := filepath.Join(dir, "bad.service")
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart=/bin/sh -c \"unterminated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(t, dir, analyze, "verify", "--man=no", unit); err == nil && strings.TrimSpace(out) == "" {
		t.Fatal("systemd-analyze verify accepted an unterminated quote")
	}
}

// TestComposeAcceptsExport runs Debian's docker-compose (v1, which validates
// without an engine) on every case, then reads back the configuration it
// resolved: commands and env values must be the manifest's, "$" included, so
// compose's own $VAR interpolation did not touch them.
func TestComposeAcceptsExport(t *testing.T) {
	t.Parallel()
	compose := needTool(t, "docker-compose", "docker-compose")
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			c := gc.load(t, "compose")
			r, err := Render(c, "compose")
			if err != nil {
				t.Fatal(err)
			}
			dir := writeFiles(t, r)
			for _, ef := range c.opts.EnvFiles { // env_file must exist for compose
				rel, _ := filepath.Rel(c.opts.OutDir, ef)
				data, err := os.ReadFile(ef)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, rel), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// build.context is "." (the golden cases write next to the manifest):
			// the temporary directory, which exists, as compose requires.
			out, err := runTool(t, dir, compose, "-f", "compose.yaml", "config")
			if err != nil || strings.Contains(out, "WARNING") {
				t.Fatalf("docker-compose config: %v\n%s", err, out)
			}
			var resolved struct {
				Services map[string]struct {
					Command     []string          `yaml:"command"`
					Environment map[string]string `yaml:"environment"`
				} `yaml:"services"`
			}
			if err := yaml.Unmarshal([]byte(out), &resolved); err != nil {
				t.Fatalf("read docker-compose config's output: %v\n%s", err, out)
			}
			for _, p := range c.Processes {
				s, ok := resolved.Services[p.Slug]
				if !ok {
					t.Fatalf("no service %s in %v", p.Slug, resolved.Services)
				}
				if s.Command != nil && unescapeK8s(s.Command[2]) != p.ShellCommand() {
					t.Errorf("%s: command %q, want %q", p.Name, unescapeK8s(s.Command[2]), p.ShellCommand())
				}
				for _, e := range p.Env {
					if got := unescapeK8s(s.Environment[e.Key]); got != e.Value {
						t.Errorf("%s: env %s = %q, want %q", p.Name, e.Key, got, e.Value)
					}
				}
			}
		})
	}
}
