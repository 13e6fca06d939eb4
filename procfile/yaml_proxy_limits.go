package procfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"gopkg.in/yaml.v3"
)

// The limits and pages of the proxy: section (issue 10 and 12):
//
//	proxy:
//	  retry_on: [conn-failure, 503]   # or none; default [conn-failure]
//	  maxconn: 4096                   # client connections served at once
//	  idle_timeout: 60s               # idle keep-alive clients
//	  body_timeout: 60s               # off or 0: none
//	  client_write_timeout: 60s       # off or 0: none
//	  stall_timeout: 2s               # off or 0: no stall detection
//	  max_request_line: 8KiB          # off or 0: no limit
//	  max_header_bytes: 64KiB
//	  max_header_fields: 100          # off or 0: no limit
//	  fault_headers: false            # honour X-Devcluster-Fault
//	  dashboard: /_devcluster/        # or false
//	  access_log: false               # up --access-log overrides
//
// A setting turned off is stored as Off. Only those the proxy can turn off
// may be: an idle keep-alive connection that never closes holds a
// descriptor for good, and an unbounded request head is memory any client
// can take.

// limitSpec bounds one numeric proxy limit.
type limitSpec struct {
	lo, hi, def int
	bytes       bool // a size: KiB and MiB suffixes accepted, bounds printed as sizes
	canOff      bool // "off" and 0 turn the limit off
}

// Bounds of the numeric limits: wide enough for any app, narrow enough to
// catch a unit forgotten (max_request_line: 8, meant as 8KiB) and a value
// that would let one client take the proxy's memory.
func proxyLimits() map[string]limitSpec {
	return map[string]limitSpec{
		"maxconn":           {lo: 1, hi: 1_000_000, def: defaults.MaxConn},
		"max_request_line":  {lo: 256, hi: 1 << 20, def: defaults.MaxRequestLine, bytes: true, canOff: true},
		"max_header_bytes":  {lo: 1 << 10, hi: 1 << 20, def: defaults.MaxHeaderBytes, bytes: true},
		"max_header_fields": {lo: 1, hi: 10_000, def: defaults.MaxHeaderFields, canOff: true},
	}
}

// proxyLimit reads one of the keys above into pc.
func (y *yamlParser) proxyLimit(pc *ProxyConfig, key string, v *yaml.Node) {
	field := "proxy." + key
	switch key {
	case "retry_on":
		pc.RetryOn = y.retryOn(v, field)
	case "maxconn":
		pc.MaxConn = y.limit(v, field, proxyLimits()[key])
	case "max_request_line":
		pc.MaxRequestLine = y.limit(v, field, proxyLimits()[key])
	case "max_header_bytes":
		pc.MaxHeaderBytes = y.limit(v, field, proxyLimits()[key])
	case "max_header_fields":
		pc.MaxHeaderFields = y.limit(v, field, proxyLimits()[key])
	case "idle_timeout":
		pc.IdleTimeout = y.timeout(v, field, false)
	case "body_timeout":
		pc.BodyTimeout = y.timeout(v, field, true)
	case "client_write_timeout":
		pc.ClientWriteTimeout = y.timeout(v, field, true)
	case "stall_timeout":
		pc.StallTimeout = y.timeout(v, field, true)
	case "fault_headers":
		pc.FaultHeaders, _ = y.boolean(v, field)
	case "access_log":
		pc.AccessLog, _ = y.boolean(v, field)
	case "dashboard":
		y.dashboard(pc, v, field)
	default:
		y.proxyHTTPS(pc, key, v)
	}
}

// isOff reports whether v is written "off".
func isOff(v *yaml.Node) bool {
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && strings.EqualFold(strings.TrimSpace(v.Value), "off")
}

// timeout reads a duration; with canOff, "off" or a zero duration is Off.
// Without, both are refused: the proxy would put its default in their place.
func (y *yamlParser) timeout(v *yaml.Node, field string, canOff bool) time.Duration {
	var d time.Duration
	if !isOff(v) {
		var ok bool
		if d, ok = y.duration(v, field); !ok || d > 0 {
			return d
		}
	}
	if !canOff {
		y.c.addf(v.Line, "%s cannot be turned off: an idle connection would hold a file descriptor for good; use a duration like %s",
			field, defaults.IdleTimeout)
		return 0
	}
	return Off
}

// sizeRE splits a size into its number and unit ("8KiB", "8 KiB", "8192").
var sizeRE = regexp.MustCompile(`^([0-9]{1,12})\s*([A-Za-z]*)$`)

// limit reads a count, or with spec.bytes a size written 8192, 8KiB or 1MiB,
// within spec's bounds; with spec.canOff, "off" or 0 is Off.
func (y *yamlParser) limit(v *yaml.Node, field string, spec limitSpec) int {
	if isOff(v) {
		if spec.canOff {
			return Off
		}
		y.c.addf(v.Line, "%s cannot be turned off; write a limit like %s (the default)", field, spec.show(spec.def))
		return 0
	}
	n, ok := y.amount(v, field, spec)
	switch {
	case !ok:
		return 0
	case n == 0 && spec.canOff:
		return Off
	case n < spec.lo || n > spec.hi:
		hint := ""
		if spec.bytes && n > 0 && n < spec.lo && n*1024 <= spec.hi {
			hint = fmt.Sprintf(" (did you mean %dKiB?)", n)
		}
		if spec.canOff {
			hint += "; write off for no limit"
		}
		y.c.addf(v.Line, "%s must be between %s and %s, got %s%s", field,
			spec.show(spec.lo), spec.show(spec.hi), spec.show(n), hint)
		return 0
	}
	return n
}

// amount reads the number of a limit, with its unit when spec.bytes.
func (y *yamlParser) amount(v *yaml.Node, field string, spec limitSpec) (int, bool) {
	if !spec.bytes || v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		return y.integer(v, field)
	}
	const how = "a number of bytes like 8192, or a size like 8KiB or 1MiB"
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(v.Value))
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || m == nil {
		y.c.addf(v.Line, "%s must be %s, got %s", field, how, describe(v))
		return 0, false
	}
	n, _ := strconv.Atoi(m[1]) // at most 12 digits: no overflow
	switch unit := strings.ToLower(m[2]); unit {
	case "", "b":
		return n, true
	case "kib":
		return n << 10, true
	case "mib":
		return n << 20, true
	case "k", "kb", "m", "mb":
		y.c.addf(v.Line, "%s: unit %q is ambiguous (1000 or 1024?); write %s%ciB", field, m[2], m[1], unit[0]-'a'+'A')
		return 0, false
	}
	y.c.addf(v.Line, "%s: unknown unit %s; write %s", field, quoteShort(m[2]), how)
	return 0, false
}

// show prints n as the limit is written: sizes in KiB or MiB when whole.
func (spec limitSpec) show(n int) string {
	switch {
	case !spec.bytes:
		return strconv.Itoa(n)
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// boolean reads true or false.
func (y *yamlParser) boolean(v *yaml.Node, field string) (bool, bool) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
		y.c.addf(v.Line, "%s must be true or false, got %s", field, describe(v))
		return false, false
	}
	return b, true
}

// retryOn reads the list of retry conditions: one or a list of
// defaults.RetryOnValues, each once, "none" alone.
func (y *yamlParser) retryOn(v *yaml.Node, field string) []string {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	const like = "[conn-failure, 503] or none"
	if v.Kind != yaml.SequenceNode && (v.Kind != yaml.ScalarNode || isNull(v)) || len(items) == 0 {
		y.c.addf(v.Line, "%s must be a list of retry conditions like %s, got %s", field, like, describe(v))
		return nil
	}
	allowed := defaults.RetryOnValues()
	var out []string
	seen := map[string]bool{}
	for _, item := range items {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			y.c.addf(item.Line, "%s must be a list of retry conditions like %s, got %s in it", field, like, describe(item))
			return nil
		}
		s := strings.TrimSpace(item.Value)
		switch {
		case !contains(allowed, s):
			hint := "; use " + strings.Join(allowed[:len(allowed)-1], ", ") + " or none"
			if near := closest(s, allowed); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			y.c.addf(item.Line, "%s: unknown retry condition %s%s", field, quoteShort(item.Value), hint)
			return nil
		case seen[s]:
			y.c.addf(item.Line, "%s: %q listed twice; remove one", field, s)
			return nil
		}
		seen[s] = true
		out = append(out, s)
	}
	if seen["none"] && len(out) > 1 {
		y.c.addf(v.Line, "%s: none means never retry, so it cannot be listed with other conditions; write none alone", field)
		return nil
	}
	return out
}

// dashboard reads the dashboard's prefix, true (on at the default prefix)
// or false (off).
func (y *yamlParser) dashboard(pc *ProxyConfig, v *yaml.Node, field string) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		on, _ := y.boolean(v, field)
		pc.DashboardOff = !on
		return
	}
	s := ""
	if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
		s = v.Value
	}
	switch {
	case s == "/":
		y.c.addf(v.Line, "%s \"/\" would take every path from the app; use a prefix like %s", field, defaults.DashboardPrefix)
	case !validPrefix(s):
		y.c.addf(v.Line, "%s must be a path that starts and ends with \"/\", like %s (letters, digits, \"-\", \"_\", \".\"), or false to turn it off; got %s",
			field, defaults.DashboardPrefix, describe(v))
	default:
		pc.DashboardPrefix = s
	}
}

// validPrefix reports whether s is a path like /_devcluster/ or /a/b/: the
// proxy matches it byte for byte, so it holds no characters a client would
// percent-encode and no empty or dot segments.
func validPrefix(s string) bool {
	if len(s) < 3 || s[0] != '/' || s[len(s)-1] != '/' {
		return false
	}
	for _, seg := range strings.Split(s[1:len(s)-1], "/") {
		if seg == "" || seg == "." || seg == ".." || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			return false
		}
	}
	return true
}

// checkDashboardPrefix reports a balanced process whose prefix lies under
// the dashboard's: the proxy serves those paths itself, so the process would
// never get a request.
func (y *yamlParser) checkDashboardPrefix(m *Manifest) {
	if m.Proxy.DashboardOff {
		return
	}
	dash := m.Proxy.DashboardPrefix
	if dash == "" {
		dash = defaults.DashboardPrefix
	}
	for _, p := range m.Processes {
		if p.Prefix != "" && m.IsBalanced(p) && (strings.HasPrefix(p.Prefix, dash) || p.Prefix == strings.TrimSuffix(dash, "/")) {
			y.c.addf(p.Line, "%s.proxy.prefix %s is under the dashboard's %s, whose requests never reach an instance; "+
				"choose another prefix, or move the dashboard (proxy.dashboard: /_admin/) or turn it off (proxy.dashboard: false)",
				p.Name, quoteShort(p.Prefix), dash)
		}
	}
}
