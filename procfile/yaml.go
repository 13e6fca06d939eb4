package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Allowed keys of devcluster.yaml, as functions so that no package-level
// slice can be changed by accident. The allowed values (strategies, sticky
// modes, restart policies, stop signals) come from internal/defaults and
// internal/signals, which the proxy and the supervisor use too.
func topKeys() []string { return []string{"proxy", "processes"} }
func proxyKeys() []string {
	return []string{"listen", "strategy", "sticky", "cookie", "retries", "connect_timeout", "response_timeout",
		"retry_on", "maxconn", "idle_timeout", "body_timeout", "client_write_timeout", "stall_timeout",
		"max_request_line", "max_header_bytes", "max_header_fields", "fault_headers", "dashboard", "access_log",
		"tls", "https_listen", "redirect_http", "hosts", "seed"}
}
func processKeys() []string {
	return []string{"command", "instances", "port", "env", "restart", "stop_signal", "stop_timeout",
		"health", "proxy", "weight", "maxconn", "watch", "reload", "depends_on", "ready"}
}
func tlsKeys() []string          { return []string{"cert", "key"} }
func healthKeys() []string       { return []string{"path", "interval", "timeout", "rise", "fall"} }
func processProxyKeys() []string { return []string{"prefix"} }
func watchKeys() []string        { return []string{"paths", "include", "exclude"} }

// Bounds that keep a typo from planning a million instances.
const (
	maxInstances = 1000
	maxWeight    = 256
)

// yamlLineRE finds the line number in yaml.v3's syntax errors
// ("yaml: line 3: mapping values are not allowed in this context").
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ParseYAML parses a devcluster.yaml. Top-level keys starting with "x-"
// are ignored, so that they can hold YAML anchors shared by processes. It walks yaml.v3's node tree rather
// than decoding into structs so that every problem (an unknown key, a value
// of the wrong type, an invalid setting) carries the line it is on; all of
// them are reported at once, as an ErrorList. Processes keep file order.
func ParseYAML(file string, r io.Reader) (m *Manifest, err error) {
	data, err := readBounded(file, r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	c := &errorCollector{file: file}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a manifest must
		// never take devcluster down with it.
		if v := recover(); v != nil {
			m, err = nil, ErrorList{{File: file, Msg: fmt.Sprintf("cannot parse YAML: %v", v)}}
		}
	}()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.addf(0, "empty file; define at least one process under \"processes:\"")
			return nil, c.err()
		}
		c.errs = append(c.errs, yamlSyntaxError(file, data, err))
		return nil, c.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		c.addf(extra.Line, "a second YAML document (after \"---\"); devcluster.yaml holds one document, remove the separator")
	} else if !errors.Is(err, io.EOF) {
		c.errs = append(c.errs, yamlSyntaxError(file, data, err))
	}

	m = &Manifest{Path: file, Format: "yaml"}
	y := &yamlParser{c: c}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		if isNull(root) {
			c.addf(root.Line, "empty file; define at least one process under \"processes:\"")
		} else {
			c.addf(root.Line, "expected a mapping with \"processes:\" (and optionally \"proxy:\"), got %s", kindName(root))
		}
		return nil, c.err()
	}
	var processesLine int
	y.mapping(root, "at the top level", nil, func(key string, k, v *yaml.Node) {
		switch {
		case strings.HasPrefix(key, "x-"):
			// Extension fields, as in compose files: a place for &anchors.
		case !contains(topKeys(), key):
			y.c.addf(k.Line, "unknown key %q at the top level%s", key, suggest(key, topKeys()))
		case key == "proxy":
			m.Proxy = y.proxyConfig(k, v)
		case key == "processes":
			processesLine = k.Line
			m.Processes = y.processes(v)
		}
	})
	if len(m.Processes) == 0 && len(c.errs) == 0 {
		if processesLine == 0 {
			c.addf(0, "no \"processes:\" section; add one, like:\nprocesses:\n  web:\n    command: python3 app.py")
		} else {
			c.addf(processesLine, "no processes defined under \"processes:\"")
		}
	}
	if len(c.errs) == 0 {
		y.checkDashboardPrefix(m)
		y.checkHTTPS(m)
		y.checkDependsOn(m)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	m.Warnings = y.warnings()
	return m, nil
}

// yamlSyntaxError turns a yaml.v3 error into a located ParseError. yaml.v3
// places a tab in the indentation on the line of the token before it (often
// the line above, or no line at all on line 1), so for tab errors the line is
// found in data: the first at or after the reported one indented with a tab.
func yamlSyntaxError(file string, data []byte, err error) *ParseError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if sm := yamlLineRE.FindStringSubmatch(err.Error()); sm != nil {
		line, _ = strconv.Atoi(sm[1])
		msg = sm[2]
	}
	if strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token") {
		if tab := tabIndentedLine(data, max(line, 1)); tab > 0 {
			line = tab
		}
	}
	return &ParseError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// tabIndentedLine returns the number of the first line from line on whose
// indentation holds a tab, or 0.
func tabIndentedLine(data []byte, from int) int {
	for i, l := range splitLines(data) {
		if i+1 < from {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.IndexByte(indent, '\t') >= 0 && len(indent) < len(l) {
			return i + 1
		}
	}
	return 0
}

// yamlParser walks the node tree, collecting problems, and warnings about
// what it accepts but devcluster does not act upon.
type yamlParser struct {
	c      *errorCollector
	warns  ErrorList
	tlsOff int // line of proxy.tls: false, which https_listen contradicts
}

// warnf records a warning at line.
func (y *yamlParser) warnf(line int, format string, args ...any) {
	y.warns = append(y.warns, &ParseError{File: y.c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// warnings returns the warnings as FILE:LINE: message, in line order, or nil.
func (y *yamlParser) warnings() []string {
	sortByLine(y.warns)
	var out []string
	for _, w := range y.warns {
		out = append(out, w.Error())
	}
	return out
}

// mapping calls fn for each key of the mapping n, in order, after checking
// that the key is known and not repeated. where names the mapping in
// messages ("in process \"web\"").
func (y *yamlParser) mapping(n *yaml.Node, where string, known []string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			y.c.addf(k.Line, "expected a key %s, got %s", where, kindName(k))
			continue
		}
		key := k.Value
		if at, dup := seen[key]; dup {
			y.c.addf(k.Line, "key %q repeated %s (first on line %d); remove one", key, where, at)
			continue
		}
		seen[key] = k.Line
		if known != nil && !contains(known, key) {
			y.c.addf(k.Line, "unknown key %q %s%s", key, where, suggest(key, known))
			continue
		}
		fn(key, k, v)
	}
}
