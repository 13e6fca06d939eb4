package procfile

import (
	"net"
	"strconv"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
	"gopkg.in/yaml.v3"
)

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
		y.proxySetting(&pc, key, v)
	})
	return pc
}

// proxySetting reads one key of the proxy: mapping into pc: the balancing
// settings here, the limits and pages in proxyLimit.
func (y *yamlParser) proxySetting(pc *ProxyConfig, key string, v *yaml.Node) {
	field := "proxy." + key
	switch key {
	case "listen":
		pc.Listen = y.listenAddr(v, field, defaults.Listen)
	case "strategy":
		pc.Strategy = y.enum(v, field, "proxy strategy", defaults.Strategies(), false)
	case "sticky":
		pc.Sticky = y.enum(v, field, "sticky mode", defaults.StickyModes(), false)
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
	case "seed":
		pc.Seed = y.seed(v, field)
	default:
		y.proxyLimit(pc, key, v)
	}
}

// listenAddr reads a HOST:PORT to listen on; like is the example the error shows.
func (y *yamlParser) listenAddr(v *yaml.Node, field, like string) string {
	s, ok := y.str(v, field)
	if !ok {
		return ""
	}
	if _, port, err := net.SplitHostPort(s); err != nil {
		y.c.addf(v.Line, "%s %q is not HOST:PORT; write it like %q", field, s, like)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		y.c.addf(v.Line, "%s %q has an invalid port; use 1-65535, like %q", field, s, like)
	} else {
		return s
	}
	return ""
}

// validCookieName reports whether s is a safe cookie name (an RFC 6265 token
// restricted to the characters people use).
func validCookieName(s string) bool {
	return s != "" && validName(strings.ReplaceAll(s, ".", "_"))
}

// seed reads proxy.seed: a whole number from 1 to 2^63-1 (0 would mean "pick
// one", which is what leaving it out says).
func (y *yamlParser) seed(v *yaml.Node, field string) uint64 {
	var n int64
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&n) != nil || n <= 0 {
		y.c.addf(v.Line, "%s must be a whole number from 1 to 9223372036854775807 (the seed printed by a run you want to repeat), got %s", field, describe(v))
		return 0
	}
	return uint64(n)
}
