package defaults

import (
	"slices"
	"testing"
)

// TestListsStartWithTheDefault: documentation and "did you mean" hints print the lists
// in order, so the default must lead each one.
func TestListsStartWithTheDefault(t *testing.T) {
	t.Parallel()
	if Strategies()[0] != Strategy {
		t.Errorf("got Strategies()[0] %q, want the default %q", Strategies()[0], Strategy)
	}
	if RestartPolicies()[0] != Restart {
		t.Errorf("got RestartPolicies()[0] %q, want the default %q", RestartPolicies()[0], Restart)
	}
	for _, l := range [][]string{Strategies(), StickyModes(), RestartPolicies()} {
		s := slices.Clone(l)
		slices.Sort(s)
		if len(slices.Compact(s)) != len(l) {
			t.Errorf("list %v has a duplicate", l)
		}
	}
}
