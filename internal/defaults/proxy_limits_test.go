package defaults

import (
	"slices"
	"testing"
)

// TestRetryOnListsStartWithTheDefault: "did you mean" hints print
// RetryOnValues in order, and the default must be one of them.
func TestRetryOnListsStartWithTheDefault(t *testing.T) {
	t.Parallel()
	values := RetryOnValues()
	for _, v := range RetryOn() {
		if !slices.Contains(values, v) {
			t.Errorf("default retry_on %q is not in RetryOnValues %v", v, values)
		}
	}
	if values[0] != RetryOn()[0] {
		t.Errorf("got RetryOnValues()[0] %q, want the default %q", values[0], RetryOn()[0])
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if len(slices.Compact(s)) != len(values) {
		t.Errorf("list %v has a duplicate", values)
	}
}

// TestDashboardPrefixIsADirectory: the proxy matches the prefix as a path
// directory, so it must start and end with "/".
func TestDashboardPrefixIsADirectory(t *testing.T) {
	t.Parallel()
	p := DashboardPrefix
	if len(p) < 3 || p[0] != '/' || p[len(p)-1] != '/' {
		t.Errorf("got DashboardPrefix %q, want a path like /_devcluster/", p)
	}
}
