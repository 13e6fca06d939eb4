package supervisor

import (
	"bytes"
	"strings"
	"testing"
)

// TestHideLineKeepsHealthCheckLinesOut: the proxy's health checks make a
// development server log one request line per check; Config.HideLine keeps those
// out of the terminal, the followers and the log ring, and nothing else.
func TestHideLineKeepsHealthCheckLinesOut(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	hide := func(line []byte) bool {
		return bytes.Contains(line, []byte("line 3")) || bytes.HasSuffix(line, []byte("line 7"))
	}
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "worker.1", 0, "count")}, HideLine: hide})
	c.waitLine("worker.1", "line 10")
	var got []string
	for _, l := range c.s.Logs([]string{"worker.1"}, 0) {
		got = append(got, l.Text)
	}
	want := "line 1,line 2,line 4,line 5,line 6,line 8,line 9,line 10"
	if strings.Join(got, ",") != want {
		t.Errorf("Logs: got %v, want %s", got, want)
	}
	if out := c.out.String(); strings.Contains(out, "line 3\n") || strings.Contains(out, "line 7\n") || !strings.Contains(out, "line 8\n") {
		t.Errorf("output: got %q, want lines 3 and 7 hidden and the others shown", out)
	}
}
