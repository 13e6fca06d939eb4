// Package termsafe escapes what a terminal would act on, for the messages that
// quote user input back (a Procfile line, a file name, a header value). Without
// it, a Procfile line holding "ESC ]0;TITLE BEL" printed in an error sets the
// terminal's title, and other sequences can rewrite the screen or, in some
// terminals, answer back as typed input. It imports nothing of devcluster's, so
// every package may use it.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape writes the control characters of s as Go escapes (\x1b, \u009b,
// \u202e) and returns s unchanged when it has none. Newlines and tabs are kept,
// since messages are written with them; invalid UTF-8 bytes (a lone 0x9b is CSI
// to an 8-bit terminal), DEL, C0 and C1 controls and the bidirectional
// overrides that make text read differently from what it is are escaped.
func Escape(s string) string {
	clean := true
	for i, r := range s {
		if hidden(s, i, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case !hidden(s, i, r):
			b.WriteRune(r)
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// hidden reports whether the rune r at s[i] is one Escape writes as an escape.
func hidden(s string, i int, r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r == utf8.RuneError:
		_, size := utf8.DecodeRuneInString(s[i:])
		return size == 1
	case r < 0x20 || r >= 0x7f && r < 0xa0:
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
