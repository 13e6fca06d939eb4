package procfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// Allowed values and keys of devcluster.yaml, as functions so that no
// package-level slice can be changed by accident.
func strategies() []string {
	return []string{"roundrobin", "leastconn", "random", "source", "uri", "first"}
}
func stickyModes() []string  { return []string{"cookie", "source"} }
func restartModes() []string { return []string{"always", "on-failure", "never"} }
func stopSignals() []string  { return []string{"TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"} }
func topKeys() []string      { return []string{"proxy", "processes"} }
func proxyKeys() []string {
	return []string{"listen", "strategy", "sticky", "cookie", "retries", "connect_timeout", "response_timeout"}
}
func processKeys() []string {
	return []string{"command", "instances", "port", "env", "restart", "stop_signal", "stop_timeout",
		"health", "proxy", "weight", "maxconn", "watch"}
}
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
	data, err := io.ReadAll(r)
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
		c.errs = append(c.errs, yamlSyntaxError(file, err))
		return nil, c.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		c.addf(extra.Line, "a second YAML document (after \"---\"); devcluster.yaml holds one document, remove the separator")
	} else if !errors.Is(err, io.EOF) {
		c.errs = append(c.errs, yamlSyntaxError(file, err))
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
	if err := c.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// yamlSyntaxError turns a yaml.v3 error into a located ParseError.
func yamlSyntaxError(file string, err error) *ParseError {
	msg := err.Error()
	if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
		line, _ := strconv.Atoi(sm[1])
		return &ParseError{File: file, Line: line, Msg: "invalid YAML: " + sm[2]}
	}
	return &ParseError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// yamlParser walks the node tree, collecting problems.
type yamlParser struct {
	c *errorCollector
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

func (y *yamlParser) proxyConfig(k, v *yaml.Node) ProxyConfig {
	pc := ProxyConfig{Line: k.Line}
	if isNull(v) {
		return pc
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "proxy must be a mapping (listen, strategy, ...), got %s", kindName(v))
		return pc
	}
	const where = "in proxy"
	y.mapping(v, where, proxyKeys(), func(key string, k, v *yaml.Node) {
		field := "proxy." + key
		switch key {
		case "listen":
			if s, ok := y.str(v, field); ok {
				if _, port, err := net.SplitHostPort(s); err != nil {
					y.c.addf(v.Line, "%s %q is not HOST:PORT; write it like %q", field, s, DefaultListen)
				} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
					y.c.addf(v.Line, "%s %q has an invalid port; use 1-65535, like %q", field, s, DefaultListen)
				} else {
					pc.Listen = s
				}
			}
		case "strategy":
			pc.Strategy = y.enum(v, field, "proxy strategy", strategies(), false)
		case "sticky":
			pc.Sticky = y.enum(v, field, "sticky mode", stickyModes(), false)
		case "cookie":
			if s, ok := y.str(v, field); ok {
				if !validCookieName(s) {
					y.c.addf(v.Line, "%s %q is not a valid cookie name; use letters, digits, \"_\" and \"-\"", field, s)
				} else {
					pc.Cookie = s
				}
			}
		case "retries":
			if n, ok := y.integer(v, field); ok {
				if n < 0 {
					y.c.addf(v.Line, "%s must be 0 or more, got %d", field, n)
				} else {
					pc.Retries = &n
				}
			}
		case "connect_timeout":
			pc.ConnectTimeout, _ = y.duration(v, field)
		case "response_timeout":
			pc.ResponseTimeout, _ = y.duration(v, field)
		}
	})
	return pc
}

func (y *yamlParser) processes(v *yaml.Node) []*Process {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "processes must be a mapping of process names to settings, got %s", kindName(v))
		return nil
	}
	var procs []*Process
	y.mapping(v, "in processes", nil, func(name string, k, v *yaml.Node) {
		if !validName(name) {
			y.c.addf(k.Line, "invalid process name %s: use only letters, digits, \"_\" and \"-\"", quoteShort(name))
			return
		}
		if p := y.process(name, k, v); p != nil {
			procs = append(procs, p)
		}
	})
	return procs
}

// process parses one entry of processes: either a mapping of settings or,
// as a shorthand, the command alone ("web: python3 app.py").
func (y *yamlParser) process(name string, k, v *yaml.Node) *Process {
	p := &Process{Name: name, Line: k.Line, Restart: DefaultRestart, StopSignal: DefaultStopSignal}
	where := fmt.Sprintf("in process %q", name)
	switch {
	case isNull(v):
		y.c.addf(k.Line, "process %q has no command; add \"command: ...\" under it", name)
		return nil
	case v.Kind == yaml.ScalarNode:
		p.Command = strings.TrimSpace(v.Value)
		if p.Command == "" {
			y.c.addf(k.Line, "process %q has an empty command", name)
			return nil
		}
		return p
	case v.Kind != yaml.MappingNode:
		y.c.addf(v.Line, "process %q must be a mapping (command, instances, ...) or a command string, got %s", name, kindName(v))
		return nil
	}
	hasCommand := false
	y.mapping(v, where, processKeys(), func(key string, k, v *yaml.Node) {
		field := name + "." + key
		switch key {
		case "command":
			hasCommand = true
			if s, ok := y.str(v, field); ok {
				p.Command = strings.TrimSpace(s)
				if p.Command == "" {
					y.c.addf(v.Line, "%s is empty; write the command that starts the process", field)
				}
			}
		case "instances":
			if n, ok := y.integer(v, field); ok {
				switch {
				case n < 1:
					y.c.addf(v.Line, "%s must be at least 1, got %d (to start none, run with -m %s=0)", field, n, name)
				case n > maxInstances:
					y.c.addf(v.Line, "%s must be at most %d, got %d", field, maxInstances, n)
				default:
					p.Instances = n
				}
			}
		case "port":
			if n, ok := y.integer(v, field); ok {
				if n < 1 || n > 65535 {
					y.c.addf(v.Line, "%s must be between 1 and 65535, got %d", field, n)
				} else {
					p.Port = n
				}
			}
		case "env":
			p.Env = y.env(v, field)
		case "restart":
			p.Restart = y.enum(v, field, "restart policy", restartModes(), false)
			if p.Restart == "" {
				p.Restart = DefaultRestart
			}
		case "stop_signal":
			if s := y.enum(v, field, "stop signal", stopSignals(), true); s != "" {
				p.StopSignal = s
			}
		case "stop_timeout":
			p.StopTimeout, _ = y.duration(v, field)
		case "health":
			p.Health = y.health(v, field)
		case "proxy":
			y.processProxy(p, v, field)
		case "weight":
			if n, ok := y.integer(v, field); ok {
				if n < 1 || n > maxWeight {
					y.c.addf(v.Line, "%s must be between 1 and %d, got %d", field, maxWeight, n)
				} else {
					p.Weight = n
				}
			}
		case "maxconn":
			if n, ok := y.integer(v, field); ok {
				if n < 0 {
					y.c.addf(v.Line, "%s must be 0 (unlimited) or more, got %d", field, n)
				} else {
					p.MaxConn = n
				}
			}
		case "watch":
			p.Watch = y.watch(k, v, field)
		}
	})
	if !hasCommand {
		y.c.addf(k.Line, "process %q has no command; add \"command: ...\" under it", name)
		return nil
	}
	if p.Command == "" {
		return nil
	}
	return p
}

func (y *yamlParser) env(v *yaml.Node, field string) map[string]string {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping of NAME: value, got %s", field, kindName(v))
		return nil
	}
	env := map[string]string{}
	y.mapping(v, "in "+field, nil, func(key string, k, v *yaml.Node) {
		if !validEnvKey(key) {
			y.c.addf(k.Line, "invalid variable name %s in %s: use letters, digits and \"_\", not starting with a digit", quoteShort(key), field)
			return
		}
		if isNull(v) {
			env[key] = ""
			return
		}
		if s, ok := y.str(v, field+"."+key); ok {
			env[key] = s
		}
	})
	return env
}

func (y *yamlParser) health(v *yaml.Node, field string) Health {
	var h Health
	if isNull(v) {
		return h
	}
	if v.Kind == yaml.ScalarNode {
		if s, ok := y.str(v, field); ok {
			h.Path = y.path(v, field, s)
		}
		return h
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a path like /health or a mapping (path, interval, timeout, rise, fall), got %s", field, kindName(v))
		return h
	}
	y.mapping(v, "in "+field, healthKeys(), func(key string, k, v *yaml.Node) {
		f := field + "." + key
		switch key {
		case "path":
			if s, ok := y.str(v, f); ok {
				h.Path = y.path(v, f, s)
			}
		case "interval":
			h.Interval, _ = y.duration(v, f)
		case "timeout":
			h.Timeout, _ = y.duration(v, f)
		case "rise":
			h.Rise = y.positive(v, f)
		case "fall":
			h.Fall = y.positive(v, f)
		}
	})
	return h
}

// processProxy reads a process's proxy: either a bool (balanced or not) or
// a mapping {prefix: /api}, which means balanced under that prefix.
func (y *yamlParser) processProxy(p *Process, v *yaml.Node, field string) {
	if v.Kind == yaml.MappingNode {
		on := true
		p.Balanced = &on
		y.mapping(v, "in "+field, processProxyKeys(), func(key string, k, v *yaml.Node) {
			if s, ok := y.str(v, field+".prefix"); ok {
				p.Prefix = y.path(v, field+".prefix", s)
			}
		})
		return
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		y.c.addf(v.Line, "%s must be true, false or a mapping like {prefix: /api}, got %s", field, describe(v))
		return
	}
	p.Balanced = &b
}

func (y *yamlParser) watch(k, v *yaml.Node, field string) Watch {
	w := Watch{Line: k.Line}
	if isNull(v) {
		return w
	}
	if v.Kind != yaml.MappingNode {
		y.c.addf(v.Line, "%s must be a mapping (paths, include, exclude), got %s", field, kindName(v))
		return w
	}
	y.mapping(v, "in "+field, watchKeys(), func(key string, k, v *yaml.Node) {
		f := field + "." + key
		list := y.strings(v, f)
		switch key {
		case "paths":
			w.Paths = list
		case "include", "exclude":
			for i, pat := range list {
				if !doublestar.ValidatePattern(pat) {
					line := v.Line
					if v.Kind == yaml.SequenceNode && i < len(v.Content) {
						line = v.Content[i].Line
					}
					y.c.addf(line, "%s: invalid glob pattern %q (check its brackets and braces)", f, pat)
				}
			}
			if key == "include" {
				w.Include = list
			} else {
				w.Exclude = list
			}
		}
	})
	return w
}

// strings reads a list of strings; a single string is a list of one.
func (y *yamlParser) strings(v *yaml.Node, field string) []string {
	if isNull(v) {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		if s, ok := y.str(v, field); ok {
			return []string{s}
		}
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		y.c.addf(v.Line, "%s must be a list of strings, got %s", field, kindName(v))
		return nil
	}
	var out []string
	for _, item := range v.Content {
		if s, ok := y.str(deref(item), field); ok {
			out = append(out, s)
		}
	}
	return out
}

// str reads a scalar as a string; numbers and booleans are taken as written.
func (y *yamlParser) str(v *yaml.Node, field string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		y.c.addf(v.Line, "%s must be a string, got %s", field, describe(v))
		return "", false
	}
	return v.Value, true
}

func (y *yamlParser) integer(v *yaml.Node, field string) (int, bool) {
	var n int
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&n) != nil {
		y.c.addf(v.Line, "%s must be a whole number, got %s", field, describe(v))
		return 0, false
	}
	return n, true
}

func (y *yamlParser) positive(v *yaml.Node, field string) int {
	n, ok := y.integer(v, field)
	if ok && n < 1 {
		y.c.addf(v.Line, "%s must be at least 1, got %d", field, n)
		return 0
	}
	return n
}

// duration reads "2s", "500ms", "1m30s" or a whole number of seconds.
func (y *yamlParser) duration(v *yaml.Node, field string) (time.Duration, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		y.c.addf(v.Line, "%s must be a duration like 5s or 500ms, got %s", field, describe(v))
		return 0, false
	}
	var d time.Duration
	if v.Tag == "!!int" {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(time.Second) {
			y.c.addf(v.Line, "%s must be a duration like 5s or 500ms, got %s", field, quoteShort(v.Value))
			return 0, false
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		d, err = time.ParseDuration(strings.TrimSpace(v.Value))
		if err != nil {
			y.c.addf(v.Line, "%s must be a duration like 5s or 500ms, got %s", field, quoteShort(v.Value))
			return 0, false
		}
	}
	if d < 0 {
		y.c.addf(v.Line, "%s must not be negative, got %s", field, quoteShort(v.Value))
		return 0, false
	}
	return d, true
}

// enum reads one of allowed. With signal, the value is upper-cased and a
// leading "SIG" dropped. An invalid value yields "".
func (y *yamlParser) enum(v *yaml.Node, field, what string, allowed []string, signal bool) string {
	s, ok := y.str(v, field)
	if !ok {
		return ""
	}
	val := s
	if signal {
		val = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	}
	if contains(allowed, val) {
		return val
	}
	hint := "; use one of " + strings.Join(allowed, ", ")
	if near := closest(val, allowed); near != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", near)
	}
	y.c.addf(v.Line, "%s: unknown %s %s%s", field, what, quoteShort(s), hint)
	return ""
}

// path checks that s is a URL path.
func (y *yamlParser) path(v *yaml.Node, field, s string) string {
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n") {
		y.c.addf(v.Line, "%s must be a URL path starting with \"/\", like /health; got %s", field, quoteShort(s))
		return ""
	}
	return s
}

// deref follows aliases (*anchor) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return "a value"
	}
	return "an alias"
}

// describe names a node's value for a message: the scalar quoted, or its kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return quoteShort(n.Value)
	}
	return kindName(n)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "command"?)` for a near miss among known,
// or the list of known keys when nothing is close.
func suggest(s string, known []string) string {
	if near := closest(s, known); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}

// closest returns the entry of known nearest to s when it is a plausible
// typo of it (two edits, or a third of a long word), or "".
func closest(s string, known []string) string {
	best, bestDist := "", 1<<30
	for _, k := range known {
		d := editDistance(strings.ToLower(s), k)
		if d < bestDist && d <= max(2, len(k)/3) && d < len(k) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, capped in
// effort for long inputs (anything past 64 bytes is far from every key).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// validCookieName reports whether s is a safe cookie name (an RFC 6265 token
// restricted to the characters people use).
func validCookieName(s string) bool {
	return s != "" && validName(strings.ReplaceAll(s, ".", "_"))
}
