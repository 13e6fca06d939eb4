package supervisor

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestColorOfMatchesPrefix: the colour ColorOf gives is the one the instance's
// prefix is printed in, whether it is asked before or after the first line,
// and there is none when output is plain.
func TestColorOfMatchesPrefix(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := newOutput(&buf, nil, true, time.Now, 10)
	o.line("web.1", "hello")
	early := o.colorOf("web.2") // before web.2's first line
	o.line("web.2", "hello")
	for _, id := range []string{"web.1", "web.2"} {
		c := o.colorOf(id)
		if c == nil {
			t.Fatalf("colorOf(%s) = nil with colour on", id)
		}
		if want := c.Sprint("x"); !strings.Contains(buf.String(), strings.TrimSuffix(want, "x\x1b[0m")+time.Now().Format("15:")) {
			t.Errorf("%s's prefix is not printed in its colour %q:\n%q", id, want, buf.String())
		}
	}
	if early != o.colorOf("web.2") {
		t.Error("web.2's colour changed after its first line")
	}
	if o.colorOf("web.1").Sprint("x") == o.colorOf("web.2").Sprint("x") {
		t.Error("web.1 and web.2 have the same colour")
	}
	plain := newOutput(&buf, nil, false, time.Now, 10)
	if c := plain.colorOf("web.1"); c != nil {
		t.Errorf("colorOf with colour off = %v, want nil", c)
	}
}
