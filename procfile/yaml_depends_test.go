package procfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseYAMLDependsOnAndReady(t *testing.T) {
	t.Parallel()
	const src = `processes:
  redis:
    command: redis-server --port 6390
    ready: {tcp: 6390}
  migrate:
    command: python3 migrate.py
    depends_on: redis
    ready: {command: "test -f .migrated"}
  worker:
    command: python3 worker.py
    depends_on: [redis, migrate]
    ready: {log: "^worker ready"}
  web:
    command: python3 app.py
    depends_on: [worker]
`
	m, err := ParseYAML("devcluster.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := map[string]struct {
		deps  []string
		line  int
		ready Ready
	}{
		"redis":   {nil, 0, Ready{TCP: 6390, Line: 4}},
		"migrate": {[]string{"redis"}, 7, Ready{Command: "test -f .migrated", Line: 8}},
		"worker":  {[]string{"redis", "migrate"}, 11, Ready{Log: "^worker ready", Line: 12}},
		"web":     {[]string{"worker"}, 15, Ready{}},
	}
	for name, w := range want {
		p := m.Process(name)
		if !reflect.DeepEqual(p.DependsOn, w.deps) || p.DependsOnLine != w.line || p.Ready != w.ready {
			t.Errorf("%s: got depends_on %q (line %d), ready %+v; want %q (line %d), %+v",
				name, p.DependsOn, p.DependsOnLine, p.Ready, w.deps, w.line, w.ready)
		}
	}
}

func TestParseYAMLDependsOnAndReadyErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"unknown process", `processes:
  web:
    command: python3 app.py
    depends_on: [rediss]
  redis: redis-server
`, `devcluster.yaml:4: web.depends_on: unknown process "rediss" (did you mean "redis"?)`},
		{"itself", `processes:
  worker:
    command: python3 w.py
    depends_on: worker
`, `devcluster.yaml:4: worker.depends_on names worker itself`},
		{"twice", `processes:
  a: {command: sleep 1, depends_on: [b, b]}
  b: sleep 1
`, `devcluster.yaml:2: a.depends_on names b twice`},
		{"cycle", `processes:
  a: {command: sleep 1, depends_on: b}
  b: {command: sleep 1, depends_on: c}
  c: {command: sleep 1, depends_on: a}
`, `devcluster.yaml:2: depends_on forms a cycle: a → b → c → a`},
		{"not a list of strings", `processes:
  a: {command: sleep 1, depends_on: {b: 1}}
`, `devcluster.yaml:2: a.depends_on must be a list of strings, got a mapping`},
		{"two rules", `processes:
  a:
    command: sleep 1
    ready: {tcp: 1, log: x}
`, `devcluster.yaml:4: a.ready must be a mapping with one rule`},
		{"unknown rule", `processes:
  a:
    command: sleep 1
    ready: {http: /}
`, `devcluster.yaml:4: unknown key "http" in a.ready`},
		{"bad port", `processes:
  a:
    command: sleep 1
    ready: {tcp: 70000}
`, `devcluster.yaml:4: a.ready.tcp must be a port between 1 and 65535, got 70000`},
		{"bad regexp", `processes:
  a:
    command: sleep 1
    ready: {log: "ready ("}
`, `devcluster.yaml:4: a.ready.log: invalid regular expression`},
		{"empty command", `processes:
  a:
    command: sleep 1
    ready: {command: " "}
`, `devcluster.yaml:4: a.ready.command is empty`},
		{"balanced", `processes:
  web:
    command: python3 app.py
    ready: {tcp: 6000}
`, `devcluster.yaml:4: web.ready: web is balanced by the proxy`},
		{"with health", `processes:
  api:
    command: python3 api.py
    proxy: false
    health: /h
    ready: {log: up}
`, `devcluster.yaml:6: api has both health: and ready:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseYAML("devcluster.yaml", strings.NewReader(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
