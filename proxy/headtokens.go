package proxy

import "bytes"

// The lexical pieces of HTTP/1.x heads (RFC 9110, 9112) that head.go's parser is
// built from: versions, lengths, header names the proxy acts on, tokens.

func parseHTTPVersion(v []byte) (major, minor int, ok bool) {
	if len(v) != len("HTTP/X.Y") || string(v[:5]) != "HTTP/" || v[6] != '.' {
		return 0, 0, false
	}
	if v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// parseContentLength accepts what strconv.ParseUint(s, 10, 63) accepts.
func parseContentLength(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// classify names the headers the proxy acts on, case-insensitively.
func classify(name []byte) uint8 {
	switch len(name) {
	case 2:
		if asciiEqualFold(name, "te") {
			return hHopByHop
		}
	case 4:
		if asciiEqualFold(name, "host") {
			return hHost
		}
	case 6:
		switch {
		case asciiEqualFold(name, "cookie"):
			return hCookie
		case asciiEqualFold(name, "expect"):
			return hExpect
		}
	case 7:
		switch {
		case asciiEqualFold(name, "upgrade"):
			return hUpgrade
		case asciiEqualFold(name, "trailer"):
			return hHopByHop
		}
	case 9:
		switch {
		case asciiEqualFold(name, "x-real-ip"):
			return hForwardedOwn
		case asciiEqualFold(name, "forwarded"):
			return hForwardedOwn
		}
	case 10:
		switch {
		case asciiEqualFold(name, "connection"):
			return hConnection
		case asciiEqualFold(name, "keep-alive"):
			return hHopByHop
		}
	case 12:
		if asciiEqualFold(name, "x-request-id") {
			return hRequestID
		}
	default:
		return classifyLong(name)
	}
	return hOther
}

// classifyLong is classify for names of 13 bytes and more.
func classifyLong(name []byte) uint8 {
	switch len(name) {
	case 13:
		if asciiEqualFold(name, "cache-control") {
			return hCacheControl
		}
	case 14:
		if asciiEqualFold(name, "content-length") {
			return hContentLength
		}
	case 15:
		if asciiEqualFold(name, "x-forwarded-for") {
			return hXForwardedFor
		}
	case 16:
		switch {
		case asciiEqualFold(name, "proxy-connection"):
			return hHopByHop
		case asciiEqualFold(name, "x-forwarded-host"):
			return hForwardedOwn
		}
	case 17:
		switch {
		case asciiEqualFold(name, "transfer-encoding"):
			return hTransferEncoding
		case asciiEqualFold(name, "x-forwarded-proto"):
			return hForwardedOwn
		}
	case 18:
		switch {
		case asciiEqualFold(name, "proxy-authenticate"):
			return hHopByHop
		case asciiEqualFold(name, "x-devcluster-fault"):
			return hFault
		}
	case 19:
		if asciiEqualFold(name, "proxy-authorization") {
			return hHopByHop
		}
	case 21:
		if asciiEqualFold(name, "x-devcluster-instance") {
			return hInstance
		}
	}
	// Any other X-Forwarded-* (Port, Prefix, Ssl, Server...): the proxy owns
	// the forwarding headers, and a client's would be trusted by the app.
	if len(name) > len("x-forwarded-") && asciiEqualFold(name[:len("x-forwarded-")], "x-forwarded-") {
		return hForwardedOwn
	}
	return hOther
}

// asciiEqualFold compares b with the lower-case ASCII string s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func asciiEqualFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// forEachToken calls f for each non-empty element of a comma-separated list.
func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		tok, rest, _ := bytes.Cut(v, []byte{','})
		v = rest
		if tok = trimSpace(tok); len(tok) > 0 {
			f(tok)
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenTable marks the bytes allowed in a token (RFC 9110 5.6.2).
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

// validValueByte: field-vchar, SP, HTAB, obs-text (RFC 9110 5.5).
func validValueByte(c byte) bool {
	return c >= 0x20 && c != 0x7f || c == '\t'
}
