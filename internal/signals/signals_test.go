package signals

import (
	"syscall"
	"testing"
)

func TestParseAndName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want syscall.Signal
		ok   bool
	}{
		{"TERM", syscall.SIGTERM, true},
		{"sigint", syscall.SIGINT, true},
		{" SIGUSR2 ", syscall.SIGUSR2, true},
		{"winch", syscall.SIGWINCH, true},
		{"STOP", 0, false},
		{"", 0, false},
	} {
		got, ok := Parse(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, n := range Names() {
		sig, ok := Parse(n)
		if !ok {
			t.Fatalf("Parse(%q) of a listed name failed", n)
		}
		if got := Name(sig); got != "SIG"+n {
			t.Errorf("Name(Parse(%q)) = %q, want %q", n, got, "SIG"+n)
		}
	}
	if got := Name(syscall.SIGSEGV); got != syscall.SIGSEGV.String() {
		t.Errorf("Name(SIGSEGV) = %q, want %q", got, syscall.SIGSEGV.String())
	}
}
