package main

import (
	"strings"
	"testing"

	"github.com/devcluster/devcluster/probe"
)

func TestProbeTableMarksDifferencesWithoutColour(t *testing.T) {
	t.Parallel()
	// probe.Run's result for {"count": 3, "app": "x"} beside {"count": 1, "app": "x"}.
	res := probe.Result{Path: "/counter", Differ: []string{"count"}, Ignored: []string{}, Instances: []probe.Answer{
		{ID: "web.1", Port: 5000, Status: 200, Body: `{"count": 3, "app": "x"}`, Fields: map[string]string{"count": "3", "app": `"x"`}},
		{ID: "web.2", Port: 5001, Status: 200, Body: `{"count": 1, "app": "x"}`, Fields: map[string]string{"count": "1", "app": `"x"`}},
	}}
	var plain, coloured strings.Builder
	writeProbe(&plain, res, res.Instances, false)
	writeProbe(&coloured, res, res.Instances, true)
	for _, want := range []string{"\n* count  3      1\n", "\n  app    \"x\"    \"x\"\n", "the instances disagree: count (marked *)"} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, plain.String())
		}
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("colour off, but the output has escape codes:\n%q", plain.String())
	}
	if !strings.Contains(coloured.String(), ansiDiff+"count  "+ansiReset) || !strings.Contains(coloured.String(), "\n* ") {
		t.Errorf("colour on: want the differing row coloured and still marked *:\n%q", coloured.String())
	}
}

func TestProbeTextBodiesDiff(t *testing.T) {
	t.Parallel()
	// probe.Run's result for three text bodies, web.2's another (probe's
	// TestProbeTextBodiesDiffer).
	res := probe.Result{Path: "/", Differ: []string{"body"}, Ignored: []string{}, Instances: []probe.Answer{
		{ID: "web.1", Port: 5000, Status: 200, Body: "hello\nserved by web.1\nbye\n"},
		{ID: "web.2", Port: 5001, Status: 200, Body: "hello\nserved by web.2\nbye\n"},
		{ID: "web.3", Port: 5002, Status: 200, Body: "hello\nserved by web.1\nbye\n"},
	}}
	var out strings.Builder
	writeProbe(&out, res, res.Instances, false)
	want := "--- web.1\n+++ web.2\n@@ -1,3 +1,3 @@\n hello\n-served by web.1\n+served by web.2\n bye\nweb.3: same body as web.1"
	if !strings.Contains(out.String(), want) {
		t.Errorf("got:\n%s\nwant it to contain:\n%s", out.String(), want)
	}
}

// TestParseProbeHeaders: -H values are trimmed as the instance then sees
// them (probe's TestProbeOnlyReadyInstancesAndHeaders), and malformed ones
// are refused.
func TestParseProbeHeaders(t *testing.T) {
	t.Parallel()
	hdr, err := parseProbeHeaders([]string{"X-Probe:  hello ", "Host: shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("X-Probe"); got != "hello" {
		t.Errorf("X-Probe: got %q, want hello", got)
	}
	if got := hdr.Get("Host"); got != "shop.test" {
		t.Errorf("Host: got %q, want shop.test", got)
	}
	for _, bad := range []string{"nocolon", ": v", "X Y: v"} {
		if _, err := parseProbeHeaders([]string{bad}); err == nil || !strings.Contains(err.Error(), "want 'Name: value'") {
			t.Errorf("header %q: got %v, want a refusal", bad, err)
		}
	}
}
