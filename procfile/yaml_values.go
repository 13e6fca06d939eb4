package procfile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

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
