package proxy

import (
	"fmt"
	"strings"
	"sync"
)

// stickiness keeps a client on one instance: by a cookie the proxy inserts (as
// HAProxy's "cookie SRV insert indirect nocache") or by client IP (as "stick on
// src"). When the remembered instance is not in rotation the request is
// redispatched and the client is remembered on the new one.
type stickiness struct {
	mode   string // "cookie" or "source"
	cookie string

	mu     sync.Mutex
	source map[string]string // client IP → instance ID
}

// maxSourceEntries bounds the source table; past it the table starts over.
const maxSourceEntries = 1 << 16

func newStickiness(mode, cookie string) (*stickiness, error) {
	switch mode {
	case "":
		return nil, nil
	case "cookie", "source":
		return &stickiness{mode: mode, cookie: cookie, source: map[string]string{}}, nil
	}
	return nil, fmt.Errorf("unknown sticky mode %q (want cookie or source)", mode)
}

// lookup returns the instance ID the client is stuck to, or "".
func (s *stickiness) lookup(ri *reqInfo, cookieVal string) string {
	if s.mode == "cookie" {
		return cookieVal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.source[ri.clientIP]
}

// remember records the instance chosen for a source-sticky client.
func (s *stickiness) remember(ri *reqInfo, id string) {
	if s.mode != "source" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.source) >= maxSourceEntries {
		clear(s.source)
	}
	s.source[ri.clientIP] = id
}

// splitCookie finds cookie name in the request's Cookie header lines and returns
// its value and the header lines without it ("indirect": the instance never sees
// the proxy's cookie). found reports whether it was present.
func splitCookie(lines []string, name string) (val string, rest []string, found bool) {
	for i, line := range lines {
		if !strings.Contains(line, name) {
			continue
		}
		parts := strings.Split(line, ";")
		kept := parts[:0]
		for _, part := range parts {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == name && !found {
				val, found = v, true
				continue
			}
			kept = append(kept, strings.TrimSpace(part))
		}
		if !found {
			continue
		}
		rest = append(rest, lines[:i]...)
		if len(kept) > 0 {
			rest = append(rest, strings.Join(kept, "; "))
		}
		rest = append(rest, lines[i+1:]...)
		return val, rest, true
	}
	return "", lines, false
}
