package procfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/internal/defaults"
)

// The seed corpus lives in testdata/fuzz/FuzzXxx/ and replays in plain
// "go test"; run "go test -fuzz=FuzzParseEnv -fuzztime=30s ./procfile" to
// search for more.

func FuzzParseProcfile(f *testing.F) {
	f.Add("web: python3 app.py\nworker:python3 w.py\r\n# c\n\n")
	f.Fuzz(func(t *testing.T, input string) {
		m, err := ParseProcfile("Procfile", strings.NewReader(input))
		if err != nil {
			checkErrorList(t, err)
			return
		}
		if len(m.Processes) == 0 {
			t.Fatal("successful parse with no processes")
		}
		for _, p := range m.Processes {
			if _, at := unterminatedQuote(p.Command); at >= 0 || strings.IndexByte(p.Command, 0) >= 0 {
				t.Fatalf("accepted a command sh cannot run: %q", p.Command)
			}
		}
		// Written back as "name: command" lines, the processes parse the same.
		var b strings.Builder
		for _, p := range m.Processes {
			b.WriteString(p.Name + ": " + p.Command + "\n")
		}
		again, err := ParseProcfile("Procfile", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		if len(again.Processes) != len(m.Processes) {
			t.Fatalf("re-parse: got %d processes, want %d", len(again.Processes), len(m.Processes))
		}
		for i, p := range again.Processes {
			if p.Name != m.Processes[i].Name || p.Command != m.Processes[i].Command {
				t.Fatalf("re-parse: got %q: %q, want %q: %q", p.Name, p.Command, m.Processes[i].Name, m.Processes[i].Command)
			}
		}
	})
}

func FuzzParseEnv(f *testing.F) {
	f.Add("export A=1\nB='x y'\nC=\"a\\nb\" # c\nD=v # c\n")
	f.Fuzz(func(t *testing.T, input string) {
		vars, err := ParseEnv(".env", strings.NewReader(input))
		if err != nil {
			checkErrorList(t, err)
			return
		}
		// Written back double-quoted, the values parse the same.
		var b strings.Builder
		for _, v := range vars {
			if !validEnvKey(v.Key) {
				t.Fatalf("accepted invalid key %q", v.Key)
			}
			b.WriteString(v.Key + "=" + quoteEnv(v.Value) + "\n")
		}
		again, err := ParseEnv(".env", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		if len(again) != len(vars) {
			t.Fatalf("re-parse: got %d vars, want %d", len(again), len(vars))
		}
		for i := range again {
			if again[i].Key != vars[i].Key || again[i].Value != vars[i].Value {
				t.Fatalf("re-parse: got %q=%q, want %q=%q", again[i].Key, again[i].Value, vars[i].Key, vars[i].Value)
			}
		}
	})
}

// quoteEnv writes v as a double-quoted .env value.
func quoteEnv(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

func FuzzParseYAML(f *testing.F) {
	f.Add(fullYAML)
	f.Fuzz(func(t *testing.T, input string) {
		m, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
		if err != nil {
			checkErrorList(t, err)
			return
		}
		if len(m.Processes) == 0 {
			t.Fatal("successful parse with no processes")
		}
		seen := map[string]bool{}
		for _, p := range m.Processes {
			if !validName(p.Name) || p.Command == "" || p.Line < 1 || seen[p.Name] {
				t.Fatalf("accepted bad process %+v", p)
			}
			seen[p.Name] = true
			checkResolve(t, p)
		}
		if _, err := m.Plan(nil, 0); err != nil && !strings.Contains(err.Error(), "port") {
			t.Fatalf("plan: %v", err)
		}
		ReloaderWarnings(m)
		checkProxyConfig(t, m.Proxy)
		checkHTTPSConfig(t, m)
		for _, w := range m.Warnings {
			if !strings.HasPrefix(w, "devcluster.yaml:") || escapeControls(w) != w {
				t.Fatalf("bad warning %q", w)
			}
		}
	})
}

// checkHTTPSConfig fails unless every accepted host is a valid name routed to
// a balanced process, and redirect_http has an HTTPS listener.
func checkHTTPSConfig(t *testing.T, m *Manifest) {
	t.Helper()
	for _, h := range m.Proxy.Hosts {
		if p := m.Process(h.Process); p == nil || !m.IsBalanced(p) || hostProblem(h.Host) != "" || h.Line < 1 {
			t.Fatalf("accepted host route %+v", h)
		}
	}
	if m.Proxy.RedirectHTTP && m.Proxy.HTTPSListen == "" || m.Proxy.HTTPSListen != "" && !m.Proxy.TLS.On {
		t.Fatalf("accepted HTTPS settings %+v", m.Proxy)
	}
}

// checkProxyConfig fails unless every limit of an accepted proxy: section is
// unset, Off where it can be off, or within its bounds, and retry_on holds
// known conditions, none alone.
func checkProxyConfig(t *testing.T, pc ProxyConfig) {
	t.Helper()
	limits := proxyLimits()
	for key, n := range map[string]int{"maxconn": pc.MaxConn, "max_request_line": pc.MaxRequestLine,
		"max_header_bytes": pc.MaxHeaderBytes, "max_header_fields": pc.MaxHeaderFields} {
		spec := limits[key]
		if n != 0 && !(n == Off && spec.canOff) && (n < spec.lo || n > spec.hi) {
			t.Fatalf("accepted proxy.%s %d", key, n)
		}
	}
	if pc.IdleTimeout < 0 || pc.BodyTimeout < Off || pc.ClientWriteTimeout < Off || pc.StallTimeout < Off {
		t.Fatalf("accepted a negative timeout: %+v", pc)
	}
	for _, v := range pc.RetryOn {
		if !contains(defaults.RetryOnValues(), v) || v == "none" && len(pc.RetryOn) > 1 {
			t.Fatalf("accepted proxy.retry_on %q", pc.RetryOn)
		}
	}
	if pc.DashboardPrefix != "" && (pc.DashboardOff || !validPrefix(pc.DashboardPrefix)) {
		t.Fatalf("accepted dashboard %q (off %v)", pc.DashboardPrefix, pc.DashboardOff)
	}
}

// checkResolve fails unless p's reload waves keep one instance serving
// (from two instances on), always make progress, and never surge past the
// instances they replace.
func checkResolve(t *testing.T, p *Process) {
	t.Helper()
	for n := 1; n <= 12; n++ {
		u, s := p.Reload.Resolve(n)
		if u < 0 || s < 0 || s > n || u+s == 0 || (n > 1 && u > n-1) || u > n {
			t.Fatalf("%s: Resolve(%d) of %v: got %d unavailable, %d surge", p.Name, n, p.Reload, u, s)
		}
	}
}

// checkErrorList fails unless err is a non-empty ErrorList of located,
// non-empty messages in line order.
func checkErrorList(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("got error %v (%T), want a non-empty ErrorList", err, err)
	}
	for i, e := range list {
		if e.Msg == "" || e.Line < 0 {
			t.Fatalf("bad error %+v", e)
		}
		if i > 0 && e.Line < list[i-1].Line {
			t.Fatalf("errors out of line order: %v", list)
		}
	}
	text := list.Error()
	if text == "" {
		t.Fatal("empty error text")
	}
	if escapeControls(text) != text {
		t.Fatalf("error text holds control characters: %q", text)
	}
}
