package procfile

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const fullYAML = `# a full manifest
proxy:
  listen: 127.0.0.1:9090
  strategy: leastconn
  sticky: cookie
  cookie: SRV
  retries: 0
  connect_timeout: 2s
  response_timeout: 60

processes:
  web:
    command: flask --app app run --no-reload --port $PORT
    instances: 3
    port: 6000
    env: {GREETING: hello, COUNT: 3, EMPTY: }
    restart: on-failure
    stop_signal: SIGINT
    stop_timeout: 500ms
    health: /health
    proxy: true
    weight: 2
    maxconn: 10
    watch: {paths: [.], include: ["*.py", "templates/**"], exclude: ["migrations/*"]}
  api:
    command: python3 api.py
    health: {path: /ping, interval: 2s, timeout: 1, rise: 2, fall: 3}
    proxy: {prefix: /api}
  worker: python3 worker.py
  cron:
    command: python3 cron.py
    proxy: false
    watch:
      paths: src
`

func TestParseYAMLFull(t *testing.T) {
	t.Parallel()
	m, err := ParseYAML("devcluster.yaml", strings.NewReader(fullYAML))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	retries := 0
	wantProxy := ProxyConfig{Listen: "127.0.0.1:9090", Strategy: "leastconn", Sticky: "cookie", Cookie: "SRV",
		Retries: &retries, ConnectTimeout: 2 * time.Second, ResponseTimeout: 60 * time.Second, Line: 2}
	if !reflect.DeepEqual(m.Proxy, wantProxy) {
		t.Errorf("proxy: got %+v, want %+v", m.Proxy, wantProxy)
	}
	yes, no := true, false
	want := []*Process{
		{Name: "web", Command: "flask --app app run --no-reload --port $PORT", Line: 12, Instances: 3, Port: 6000,
			Env: map[string]string{"GREETING": "hello", "COUNT": "3", "EMPTY": ""}, Restart: "on-failure", StopSignal: "INT",
			StopTimeout: 500 * time.Millisecond, Health: Health{Path: "/health"}, Balanced: &yes, Weight: 2, MaxConn: 10,
			Watch: Watch{Paths: []string{"."}, Include: []string{"*.py", "templates/**"}, Exclude: []string{"migrations/*"}, Line: 24}},
		{Name: "api", Command: "python3 api.py", Line: 25, Restart: "always", StopSignal: "TERM",
			Health:   Health{Path: "/ping", Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 3},
			Balanced: &yes, Prefix: "/api"},
		{Name: "worker", Command: "python3 worker.py", Line: 29, Restart: "always", StopSignal: "TERM"},
		{Name: "cron", Command: "python3 cron.py", Line: 30, Restart: "always", StopSignal: "TERM", Balanced: &no,
			Watch: Watch{Paths: []string{"src"}, Line: 33}},
	}
	if len(m.Processes) != len(want) {
		t.Fatalf("got %d processes %v, want %d", len(m.Processes), procs(m), len(want))
	}
	for i, p := range m.Processes {
		if !reflect.DeepEqual(p, want[i]) {
			t.Errorf("process %d:\ngot  %+v\nwant %+v", i, *p, *want[i])
		}
	}
	if m.Format != "yaml" {
		t.Errorf("got format %q, want yaml", m.Format)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"web", true}, {"api", true}, {"worker", false}, {"cron", false}} {
		if got := m.IsBalanced(m.Process(tt.name)); got != tt.want {
			t.Errorf("IsBalanced(%s): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseYAMLAnchors(t *testing.T) {
	t.Parallel()
	input := "x-env: &env {A: '1'}\nprocesses:\n  web: {command: a, env: *env}\n  api: {command: b, env: *env}\n"
	m, err := ParseYAML("d.yaml", strings.NewReader(input))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got := m.Processes[1].Env["A"]; got != "1" {
		t.Errorf("got env A=%q through an x- anchor, want 1", got)
	}
	m, err = ParseYAML("d.yaml", strings.NewReader("processes:\n  web: {command: &c python3 a.py}\n  web2: {command: *c}\n"))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got := m.Processes[1].Command; got != "python3 a.py" {
		t.Errorf("got command %q through an alias, want %q", got, "python3 a.py")
	}
}

// yamlErrorCase is one bad devcluster.yaml and every line of its error.
type yamlErrorCase struct {
	name  string
	input string
	want  []string
}

// yamlErrorCases are TestParseYAMLErrors' table.
func yamlErrorCases() []yamlErrorCase {
	return []yamlErrorCase{
		{"unknown process key", "processes:\n  web:\n    command: a\n\n\n\n    comand: b\n", []string{
			`devcluster.yaml:7: unknown key "comand" in process "web" (did you mean "command"?)`}},
		{"unknown key listed", "processes:\n  web:\n    command: a\n    zzzzzz: 1\n", []string{
			`devcluster.yaml:4: unknown key "zzzzzz" in process "web" (known: command, instances, port, env, restart, stop_signal, stop_timeout, health, proxy, weight, maxconn, watch, reload, depends_on, ready)`}},
		{"unknown top key", "proces:\n  web: a\n", []string{
			`devcluster.yaml:1: unknown key "proces" at the top level (did you mean "processes"?)`}},
		{"unknown proxy key", "proxy:\n  lisen: x\nprocesses:\n  web: a\n", []string{
			`devcluster.yaml:2: unknown key "lisen" in proxy (did you mean "listen"?)`}},
		{"missing command", "processes:\n  web:\n    instances: 2\n", []string{
			`devcluster.yaml:2: process "web" has no command; add "command: ..." under it`}},
		{"null process", "processes:\n  web:\n", []string{
			`devcluster.yaml:2: process "web" has no command; add "command: ..." under it`}},
		{"empty command", "processes:\n  web:\n    command: ''\n", []string{
			`devcluster.yaml:3: web.command is empty; write the command that starts the process`}},
		{"wrong types", "processes:\n  web:\n    command: [a, b]\n    instances: three\n    port: '5000'\n    env: [A]\n    stop_timeout: soon\n    proxy: maybe\n    health: [x]\n    watch: [a]\n", []string{
			`devcluster.yaml:3: web.command must be a string, got a list`,
			`devcluster.yaml:4: web.instances must be a whole number, got "three"`,
			`devcluster.yaml:5: web.port must be a whole number, got "5000"`,
			`devcluster.yaml:6: web.env must be a mapping of NAME: value, got a list`,
			`devcluster.yaml:7: web.stop_timeout must be a duration like 5s or 500ms, got "soon"`,
			`devcluster.yaml:8: web.proxy must be true, false or a mapping like {prefix: /api}, got "maybe"`,
			`devcluster.yaml:9: web.health must be a path like /health or a mapping (path, interval, timeout, rise, fall), got a list`,
			`devcluster.yaml:10: web.watch must be a mapping (paths, include, exclude), got a list`,
		}},
		{"invalid values", "proxy:\n  strategy: roundrobbin\n  sticky: ip\n  listen: localhost\n  retries: -1\nprocesses:\n  web:\n    command: a\n    instances: 0\n    port: 70000\n    restart: sometimes\n    stop_signal: STOP\n    weight: 0\n    health: health\n    stop_timeout: -1s\n", []string{
			`devcluster.yaml:2: proxy.strategy: unknown proxy strategy "roundrobbin" (did you mean "roundrobin"?)`,
			`devcluster.yaml:3: proxy.sticky: unknown sticky mode "ip"; use one of cookie, source`,
			`devcluster.yaml:4: proxy.listen "localhost" is not HOST:PORT; write it like "127.0.0.1:8080"`,
			`devcluster.yaml:5: proxy.retries must be 0 or more, got -1`,
			`devcluster.yaml:9: web.instances must be at least 1, got 0 (to start none, run with -m web=0)`,
			`devcluster.yaml:10: web.port must be between 1 and 65535, got 70000`,
			`devcluster.yaml:11: web.restart: unknown restart policy "sometimes"; use one of always, on-failure, never`,
			`devcluster.yaml:12: web.stop_signal: unknown stop signal "STOP"; use one of TERM, INT, QUIT, HUP, KILL, USR1, USR2, WINCH`,
			`devcluster.yaml:13: web.weight must be between 1 and 256, got 0`,
			`devcluster.yaml:14: web.health must be a URL path starting with "/", like /health; got "health"`,
			`devcluster.yaml:15: web.stop_timeout must not be negative, got "-1s"`,
		}},
		{"health mapping problems", "processes:\n  web:\n    command: a\n    health:\n      path: /h\n      rise: 0\n      every: 1s\n", []string{
			`devcluster.yaml:6: web.health.rise must be at least 1, got 0`,
			`devcluster.yaml:7: unknown key "every" in web.health (known: path, interval, timeout, rise, fall)`,
		}},
		{"proxy mapping problems", "processes:\n  api:\n    command: a\n    proxy: {prefix: api, strip: true}\n", []string{
			`devcluster.yaml:4: api.proxy.prefix must be a URL path starting with "/", like /health; got "api"`,
			`devcluster.yaml:4: unknown key "strip" in api.proxy (known: prefix)`,
		}},
		{"bad glob", "processes:\n  web:\n    command: a\n    watch:\n      include:\n        - '*.py'\n        - '[abc'\n", []string{
			`devcluster.yaml:7: web.watch.include: invalid glob pattern "[abc" (check its brackets and braces)`}},
		{"duplicate process", "processes:\n  web: a\n  worker: b\n  web: c\n", []string{
			`devcluster.yaml:4: key "web" repeated in processes (first on line 2); remove one`}},
		{"bad process name", "processes:\n  my web: a\n", []string{
			`devcluster.yaml:2: invalid process name "my web": use only letters, digits, "_" and "-"`}},
		{"bad env name", "processes:\n  web:\n    command: a\n    env:\n      1X: y\n", []string{
			`devcluster.yaml:5: invalid variable name "1X" in web.env: use letters, digits and "_", not starting with a digit`}},
		{"empty file", "", []string{`devcluster.yaml: empty file; define at least one process under "processes:"`}},
		{"comment only", "# nothing\n", []string{`devcluster.yaml: empty file; define at least one process under "processes:"`}},
		{"no processes section", "proxy: {listen: '127.0.0.1:1'}\n", []string{
			"devcluster.yaml: no \"processes:\" section; add one, like:\nprocesses:\n  web:\n    command: python3 app.py"}},
		{"empty processes", "processes:\n", []string{`devcluster.yaml:1: no processes defined under "processes:"`}},
		{"not a mapping", "- web\n", []string{`devcluster.yaml:1: expected a mapping with "processes:" (and optionally "proxy:"), got a list`}},
		{"syntax error", "processes:\n  web: a\n   b: c\n", []string{`devcluster.yaml:3: invalid YAML: mapping values are not allowed in this context`}},
		{"tab indentation", "processes:\n\tweb: a\n", []string{`devcluster.yaml:2: invalid YAML: found character that cannot start any token`}},
		{"two documents", "processes:\n  web: a\n---\nprocesses:\n  b: c\n", []string{
			`devcluster.yaml:3: a second YAML document (after "---"); devcluster.yaml holds one document, remove the separator`}},
	}
}

func TestParseYAMLErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range yamlErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseYAML("devcluster.yaml", strings.NewReader(tt.input))
			if m != nil {
				t.Errorf("got manifest %v, want nil", procs(m))
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
