package termsafe

import (
	"strings"
	"unicode/utf8"
)

// LogField escapes s for one field of an access log line, as nginx's access
// log does: \xHH for each byte of what Escape would escape (C0 and C1
// controls, DEL, invalid UTF-8 such as a lone 0x9b, the bidi marks and
// overrides) and also of tabs and newlines (a field is one line, separated by
// spaces), and a backslash as \x5C, so that an escape in the log is never the
// client's own text. Other UTF-8 is kept, to stay readable. A clean string is
// returned as is, without allocating.
func LogField(s string) string {
	i := 0
	for i < len(s) && logSafeLen(s[i:]) > 0 {
		i += logSafeLen(s[i:])
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		if n := logSafeLen(s[i:]); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		for _, c := range []byte(s[i : i+size]) {
			b.WriteString(`\x`)
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
		i += size
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

// logSafeLen is the length of the rune at the start of s when LogField keeps
// it, 0 when it is escaped.
func logSafeLen(s string) int {
	r, size := utf8.DecodeRuneInString(s)
	if r == '\n' || r == '\t' || r == '\\' || hidden(s, 0, r) {
		return 0
	}
	return size
}
