package termsafe

import "testing"

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain web: python3 app.py", "plain web: python3 app.py"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"\x1b]0;TITLE\x07", `\x1b]0;TITLE\x07`},
		{"del\x7f nul\x00 cr\r", `del\x7f nul\x00 cr\x0d`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bad utf8 \x9b\xff", `bad utf8 \x9b\xff`},
		{"bidi \u202eevil\u2066", `bidi \u202eevil\u2066`},
		{"unicode é 日本 ✓", "unicode é 日本 ✓"},
		{"replacement char \uFFFD kept", "replacement char \uFFFD kept"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
