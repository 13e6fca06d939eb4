package procfile

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseProxy parses a manifest whose proxy: section holds the lines of
// proxy (indented by the caller's two spaces), the proxy: key on line 1.
func parseProxy(proxy string) (*Manifest, error) {
	input := "proxy:\n  " + strings.ReplaceAll(strings.TrimSuffix(proxy, "\n"), "\n", "\n  ") + "\nprocesses:\n  web: a\n"
	return ParseYAML("devcluster.yaml", strings.NewReader(input))
}

func TestParseYAMLProxyLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, proxy string
		want        ProxyConfig
	}{
		{"retry_on list", "retry_on: [conn-failure, empty-response, response-timeout, 503]",
			ProxyConfig{RetryOn: []string{"conn-failure", "empty-response", "response-timeout", "503"}}},
		{"retry_on block list", "retry_on:\n  - 503\n  - conn-failure", ProxyConfig{RetryOn: []string{"503", "conn-failure"}}},
		{"retry_on one value", "retry_on: empty-response", ProxyConfig{RetryOn: []string{"empty-response"}}},
		{"retry_on none", "retry_on: none", ProxyConfig{RetryOn: []string{"none"}}},
		{"retry_on none in a list", "retry_on: [none]", ProxyConfig{RetryOn: []string{"none"}}},
		{"maxconn", "maxconn: 4096", ProxyConfig{MaxConn: 4096}},
		{"maxconn bounds", "maxconn: 1000000", ProxyConfig{MaxConn: 1_000_000}},
		{"timeouts", "idle_timeout: 30s\nbody_timeout: 1m\nclient_write_timeout: 90\nstall_timeout: 500ms",
			ProxyConfig{IdleTimeout: 30 * time.Second, BodyTimeout: time.Minute, ClientWriteTimeout: 90 * time.Second,
				StallTimeout: 500 * time.Millisecond}},
		{"timeouts off", "body_timeout: off\nclient_write_timeout: 0\nstall_timeout: 0s",
			ProxyConfig{BodyTimeout: Off, ClientWriteTimeout: Off, StallTimeout: Off}},
		{"timeout OFF", "stall_timeout: OFF", ProxyConfig{StallTimeout: Off}},
		{"sizes with units", "max_request_line: 8KiB\nmax_header_bytes: 1MiB\nmax_header_fields: 100",
			ProxyConfig{MaxRequestLine: 8192, MaxHeaderBytes: 1 << 20, MaxHeaderFields: 100}},
		{"sizes as numbers", "max_request_line: 4096\nmax_header_bytes: '2048'", ProxyConfig{MaxRequestLine: 4096, MaxHeaderBytes: 2048}},
		{"sizes spaced and in bytes", "max_request_line: 16 kib\nmax_header_bytes: 3000B", ProxyConfig{MaxRequestLine: 16 << 10, MaxHeaderBytes: 3000}},
		{"limits off", "max_request_line: off\nmax_header_fields: 0", ProxyConfig{MaxRequestLine: Off, MaxHeaderFields: Off}},
		{"fault headers and access log", "fault_headers: true\naccess_log: true", ProxyConfig{FaultHeaders: true, AccessLog: true}},
		{"fault headers false", "fault_headers: false\naccess_log: false", ProxyConfig{}},
		{"dashboard prefix", "dashboard: /_admin/dash/", ProxyConfig{DashboardPrefix: "/_admin/dash/"}},
		{"dashboard false", "dashboard: false", ProxyConfig{DashboardOff: true}},
		{"dashboard true", "dashboard: true", ProxyConfig{}},
		{"seed", "seed: 42", ProxyConfig{Seed: 42}},
		{"seed at its largest", "seed: 9223372036854775807", ProxyConfig{Seed: 1<<63 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := parseProxy(tt.proxy)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			tt.want.Line = 1
			if !reflect.DeepEqual(m.Proxy, tt.want) {
				t.Errorf("got %+v, want %+v", m.Proxy, tt.want)
			}
		})
	}
}

// TestParseYAMLProxyLimitsNotWritten: an absent key leaves the zero value,
// which proxy.Config reads as its default.
func TestParseYAMLProxyLimitsNotWritten(t *testing.T) {
	t.Parallel()
	m, err := parseProxy("listen: 127.0.0.1:9000")
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if want := (ProxyConfig{Listen: "127.0.0.1:9000", Line: 1}); !reflect.DeepEqual(m.Proxy, want) {
		t.Errorf("got %+v, want %+v", m.Proxy, want)
	}
}

func TestParseYAMLProxyLimitErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range proxyLimitErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := parseProxy(tt.input)
			if m != nil {
				t.Errorf("got manifest %+v, want nil", m.Proxy)
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// proxyLimitErrorCases are TestParseYAMLProxyLimitErrors' table: the input is
// the proxy: section, starting on line 2.
func proxyLimitErrorCases() []yamlErrorCase {
	const f = "devcluster.yaml:"
	const seedErr = `: proxy.seed must be a whole number from 1 to 9223372036854775807 (the seed printed by a run you want to repeat), got `
	return []yamlErrorCase{
		{"seed zero", "seed: 0", []string{f + `2` + seedErr + `"0"`}},
		{"seed negative", "seed: -3", []string{f + `2` + seedErr + `"-3"`}},
		{"seed a word", "seed: lucky", []string{f + `2` + seedErr + `"lucky"`}},
		{"seed a fraction", "seed: 1.5", []string{f + `2` + seedErr + `"1.5"`}},
		{"unknown key near a new one", "retryon: [503]\nmax_conn: 5\nidle-timeout: 5s\nfault_header: true", []string{
			f + `2: unknown key "retryon" in proxy (did you mean "retry_on"?)`,
			f + `3: unknown key "max_conn" in proxy (did you mean "maxconn"?)`,
			f + `4: unknown key "idle-timeout" in proxy (did you mean "idle_timeout"?)`,
			f + `5: unknown key "fault_header" in proxy (did you mean "fault_headers"?)`}},
		{"retry_on typo", "retry_on: [conn-failure, empty-respons]", []string{
			f + `2: proxy.retry_on: unknown retry condition "empty-respons" (did you mean "empty-response"?)`}},
		{"retry_on far off", "retry_on:\n  - conn-failure\n  - always", []string{
			f + `4: proxy.retry_on: unknown retry condition "always"; use conn-failure, empty-response, response-timeout, 503 or none`}},
		{"retry_on status not retried", "retry_on: [502]", []string{
			f + `2: proxy.retry_on: unknown retry condition "502" (did you mean "503"?)`}},
		{"retry_on none with others", "retry_on: [none, 503]", []string{
			f + `2: proxy.retry_on: none means never retry, so it cannot be listed with other conditions; write none alone`}},
		{"retry_on twice", "retry_on: [503, 503]", []string{
			f + `2: proxy.retry_on: "503" listed twice; remove one`}},
		{"retry_on empty", "retry_on: []", []string{
			f + `2: proxy.retry_on must be a list of retry conditions like [conn-failure, 503] or none, got a list`}},
		{"retry_on nothing", "retry_on:", []string{
			f + `2: proxy.retry_on must be a list of retry conditions like [conn-failure, 503] or none, got nothing`}},
		{"retry_on mapping", "retry_on: {503: true}", []string{
			f + `2: proxy.retry_on must be a list of retry conditions like [conn-failure, 503] or none, got a mapping`}},
		{"retry_on nested list", "retry_on: [[503]]", []string{
			f + `2: proxy.retry_on must be a list of retry conditions like [conn-failure, 503] or none, got a list in it`}},
		{"maxconn out of range", "maxconn: 0\n", []string{
			f + `2: proxy.maxconn must be between 1 and 1000000, got 0`}},
		{"maxconn too many", "maxconn: 1000001", []string{
			f + `2: proxy.maxconn must be between 1 and 1000000, got 1000001`}},
		{"maxconn not a number", "maxconn: lots", []string{
			f + `2: proxy.maxconn must be a whole number, got "lots"`}},
		{"maxconn off", "maxconn: off", []string{
			f + `2: proxy.maxconn cannot be turned off; write a limit like 4096 (the default)`}},
		{"timeout not a duration", "body_timeout: soon\nstall_timeout: [2s]", []string{
			f + `2: proxy.body_timeout must be a duration like 5s or 500ms, got "soon"`,
			f + `3: proxy.stall_timeout must be a duration like 5s or 500ms, got a list`}},
		{"timeout negative", "client_write_timeout: -1s", []string{
			f + `2: proxy.client_write_timeout must not be negative, got "-1s"`}},
		{"idle_timeout off", "idle_timeout: off\n", []string{
			f + `2: proxy.idle_timeout cannot be turned off: an idle connection would hold a file descriptor for good; use a duration like 1m0s`}},
		{"idle_timeout zero", "idle_timeout: 0", []string{
			f + `2: proxy.idle_timeout cannot be turned off: an idle connection would hold a file descriptor for good; use a duration like 1m0s`}},
		{"size unit forgotten", "max_request_line: 8", []string{
			f + `2: proxy.max_request_line must be between 256 bytes and 1MiB, got 8 bytes (did you mean 8KiB?); write off for no limit`}},
		{"size too large", "max_header_bytes: 2MiB", []string{
			f + `2: proxy.max_header_bytes must be between 1KiB and 1MiB, got 2MiB`}},
		{"size zero without off", "max_header_bytes: 0", []string{
			f + `2: proxy.max_header_bytes must be between 1KiB and 1MiB, got 0 bytes`}},
		{"size off refused", "max_header_bytes: off", []string{
			f + `2: proxy.max_header_bytes cannot be turned off; write a limit like 64KiB (the default)`}},
		{"size ambiguous unit", "max_request_line: 8KB\nmax_header_bytes: 1m", []string{
			f + `2: proxy.max_request_line: unit "KB" is ambiguous (1000 or 1024?); write 8KiB`,
			f + `3: proxy.max_header_bytes: unit "m" is ambiguous (1000 or 1024?); write 1MiB`}},
		{"size unknown unit", "max_request_line: 8GiB", []string{
			f + `2: proxy.max_request_line: unknown unit "GiB"; write a number of bytes like 8192, or a size like 8KiB or 1MiB`}},
		{"size not a size", "max_request_line: big\nmax_header_bytes: -5\nmax_header_fields: 8KiB", []string{
			f + `2: proxy.max_request_line must be a number of bytes like 8192, or a size like 8KiB or 1MiB, got "big"`,
			f + `3: proxy.max_header_bytes must be between 1KiB and 1MiB, got -5 bytes`,
			f + `4: proxy.max_header_fields must be a whole number, got "8KiB"`}},
		{"size fraction", "max_header_bytes: 1.5MiB", []string{
			f + `2: proxy.max_header_bytes must be a number of bytes like 8192, or a size like 8KiB or 1MiB, got "1.5MiB"`}},
		{"header fields too many", "max_header_fields: 10001", []string{
			f + `2: proxy.max_header_fields must be between 1 and 10000, got 10001; write off for no limit`}},
		{"bools", "fault_headers: yes please\naccess_log: 1", []string{
			f + `2: proxy.fault_headers must be true or false, got "yes please"`,
			f + `3: proxy.access_log must be true or false, got "1"`}},
		{"dashboard without slashes", "dashboard: _devcluster", []string{
			f + `2: proxy.dashboard must be a path that starts and ends with "/", like /_devcluster/ (letters, digits, "-", "_", "."), or false to turn it off; got "_devcluster"`}},
		{"dashboard without final slash", "dashboard: /_devcluster", []string{
			f + `2: proxy.dashboard must be a path that starts and ends with "/", like /_devcluster/ (letters, digits, "-", "_", "."), or false to turn it off; got "/_devcluster"`}},
		{"dashboard root", "dashboard: /", []string{
			f + `2: proxy.dashboard "/" would take every path from the app; use a prefix like /_devcluster/`}},
		{"dashboard odd characters", "dashboard: '/a b/'\n", []string{
			f + `2: proxy.dashboard must be a path that starts and ends with "/", like /_devcluster/ (letters, digits, "-", "_", "."), or false to turn it off; got "/a b/"`}},
		{"dashboard dot segment", "dashboard: /a/../b/", []string{
			f + `2: proxy.dashboard must be a path that starts and ends with "/", like /_devcluster/ (letters, digits, "-", "_", "."), or false to turn it off; got "/a/../b/"`}},
		{"dashboard number", "dashboard: 8080", []string{
			f + `2: proxy.dashboard must be a path that starts and ends with "/", like /_devcluster/ (letters, digits, "-", "_", "."), or false to turn it off; got "8080"`}},
	}
}

// TestParseYAMLDashboardHidesProcessPrefix: a process balanced under the
// dashboard's prefix would never get a request, since the proxy serves
// those paths itself.
func TestParseYAMLDashboardHidesProcessPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, proxy, prefix string
		want                []string
	}{
		{"default prefix", "", "/_devcluster/api", []string{
			`devcluster.yaml:3: api.proxy.prefix "/_devcluster/api" is under the dashboard's /_devcluster/, whose requests never reach an instance; ` +
				`choose another prefix, or move the dashboard (proxy.dashboard: /_admin/) or turn it off (proxy.dashboard: false)`}},
		{"prefix without slash", "proxy: {dashboard: /admin/}\n", "/admin", []string{
			`devcluster.yaml:4: api.proxy.prefix "/admin" is under the dashboard's /admin/, whose requests never reach an instance; ` +
				`choose another prefix, or move the dashboard (proxy.dashboard: /_admin/) or turn it off (proxy.dashboard: false)`}},
		{"dashboard moved", "proxy: {dashboard: /_admin/}\n", "/_devcluster/api", nil},
		{"dashboard off", "proxy: {dashboard: false}\n", "/_devcluster/api", nil},
		{"dashboard under the process", "proxy: {dashboard: /api/_dash/}\n", "/api", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := tt.proxy + "processes:\n  web: a\n  api: {command: b, proxy: {prefix: " + tt.prefix + "}}\n"
			_, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestParseYAMLMaxSurgeWarned: the supervisor has no surge, so a max_surge
// above 0 is accepted, kept, and reported as a located warning.
func TestParseYAMLMaxSurgeWarned(t *testing.T) {
	t.Parallel()
	const msg = ": web.reload.max_surge is not supported yet: instances keep their ports, " +
		"so a replacement cannot start before the old one stops; it is treated as 0 " +
		"(reload.standby: true makes each replacement start several times faster instead)"
	tests := []struct {
		name, reload string
		want         []string
	}{
		{"count", "reload:\n      max_unavailable: 2\n      max_surge: 1\n", []string{"devcluster.yaml:6" + msg}},
		{"percentage", "reload: {max_surge: 25%}\n", []string{"devcluster.yaml:4" + msg}},
		{"surge only", "reload: {max_unavailable: 0, max_surge: 100%}\n", []string{"devcluster.yaml:4" + msg}},
		{"zero", "reload: {max_surge: 0}\n", nil},
		{"zero percent", "reload: {max_surge: 0%}\n", nil},
		{"not written", "reload: {max_unavailable: 50%}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := "processes:\n  web:\n    command: a\n    " + tt.reload
			m, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(m.Warnings, tt.want) {
				t.Errorf("got warnings %q, want %q", m.Warnings, tt.want)
			}
		})
	}
}

// TestParseYAMLWarningsInLineOrder: warnings of several processes come in
// file order, whatever order the parser found them in.
func TestParseYAMLWarningsInLineOrder(t *testing.T) {
	t.Parallel()
	input := "processes:\n  web: {command: a, reload: {max_surge: 1}}\n  api: {command: b, reload: {max_surge: 2}}\n"
	m, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if len(m.Warnings) != 2 || !strings.HasPrefix(m.Warnings[0], "devcluster.yaml:2: web.") ||
		!strings.HasPrefix(m.Warnings[1], "devcluster.yaml:3: api.") {
		t.Errorf("got warnings %q, want web's on line 2 then api's on line 3", m.Warnings)
	}
}
