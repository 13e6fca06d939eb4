package termsafe

import "testing"

// TestLogField: the access log's escaping (issue 21 item 8), case by case;
// a clean string comes back as is.
func TestLogField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"/cart?id=3", "/cart?id=3"},
		{"/é/日本", "/é/日本"},
		{"/a\x9bb\u009bc\u202ed", `/a\x9Bb\xC2\x9Bc\xE2\x80\xAEd`},
		{"/tab\there\nline", `/tab\x09here\x0Aline`},
		{"/del\x7f", `/del\x7F`},
		{"/esc\x1b[31m", `/esc\x1B[31m`},
		{"/bad\xff\xfe", `/bad\xFF\xFE`},
		{"/lrm\u200e/isolate\u2066", `/lrm\xE2\x80\x8E/isolate\xE2\x81\xA6`},
		{`/back\slash`, `/back\x5Cslash`},
		{"replacement \uFFFD kept", "replacement \uFFFD kept"},
	} {
		if got := LogField(tt.in); got != tt.want {
			t.Errorf("LogField(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
