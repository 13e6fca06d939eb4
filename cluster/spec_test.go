package cluster

import (
	"strings"
	"testing"
)

func TestParseSignal(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "TERM", "SIGTERM", "int", "HUP", "QUIT", "KILL", "USR1", "USR2"} {
		if _, err := ParseSignal(name); err != nil {
			t.Errorf("ParseSignal(%q): %v", name, err)
		}
	}
	if _, err := ParseSignal("BOGUS"); err == nil || !strings.Contains(err.Error(), "TERM") {
		t.Errorf("ParseSignal(BOGUS): got %v, want an error naming the valid signals", err)
	}
}
