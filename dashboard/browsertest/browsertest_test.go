package browsertest

import (
	"errors"
	"strings"
	"testing"
)

// verdictTB records how chromium ended the test instead of ending it.
type verdictTB struct {
	testing.TB
	fatal, skip string
}

func (v *verdictTB) Helper()           {}
func (v *verdictTB) Fatal(args ...any) { v.fatal = toString(args) }
func (v *verdictTB) Skip(args ...any)  { v.skip = toString(args) }

func toString(args []any) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.(string))
	}
	return b.String()
}

func TestMissingChromiumFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	t.Parallel()
	none := func(string) (string, error) { return "", errors.New("not found") }
	for _, ci := range []bool{true, false} {
		v := &verdictTB{TB: t}
		if got := chromium(v, "/nonexistent/chromium", none, ci); got != "" {
			t.Errorf("ci=%v: got path %q, want none", ci, got)
		}
		want := "no chromium at /nonexistent/chromium or on PATH; install it with: sudo apt-get install -y chromium"
		switch {
		case ci && (v.fatal != "CI=true but "+want || v.skip != ""):
			t.Errorf("CI=true: got fatal %q, skip %q; want a failure", v.fatal, v.skip)
		case !ci && (v.skip != want || v.fatal != ""):
			t.Errorf("no CI: got fatal %q, skip %q; want a skip", v.fatal, v.skip)
		}
	}
	v := &verdictTB{TB: t}
	if got := chromium(v, "/nonexistent/chromium", func(string) (string, error) { return "/opt/chromium", nil }, true); got != "/opt/chromium" || v.fatal != "" {
		t.Errorf("on PATH: got %q (fatal %q), want /opt/chromium", got, v.fatal)
	}
}
