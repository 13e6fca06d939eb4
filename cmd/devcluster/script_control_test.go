package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/devcluster/devcluster/internal/tstest"
)

// Script commands for the control scripts (ps, scale, completion).

// waitbalancer ID STATE [TIMEOUT]: wait until the proxy's state of instance ID, as the
// control socket reports it, is STATE (up, down, draining, drained, maint; "none" for an
// instance the proxy does not balance).
func cmdWaitBalancer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: waitbalancer ID STATE [TIMEOUT]")
	}
	timeout := argTimeout(ts, args, 2)
	var last string
	if !tstest.Poll(timeout, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, in := range st.Instances {
			if in.ID == args[0] {
				last = "none"
				if in.Balancer != nil {
					last = in.Balancer.State
				}
				return last == args[1]
			}
		}
		last = "not listed"
		return false
	}) {
		ts.Fatalf("waitbalancer %s %s: not reached within %s (last: %s)", args[0], args[1], timeout, last)
	}
}

// jsoninstance FILE ID FIELD VALUE: FILE holds the JSON of `devcluster ps --json`, and
// instance ID's FIELD is VALUE. FIELD is a JSON key, or balancer.KEY for the proxy's view.
func cmdJSONInstance(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 {
		ts.Fatalf("usage: jsoninstance FILE ID FIELD VALUE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var st struct {
		Instances []map[string]any `json:"instances"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		ts.Fatalf("%s is not the JSON of ps --json: %v", args[0], err)
	}
	for _, in := range st.Instances {
		if in["id"] != args[1] {
			continue
		}
		v := any(in)
		for _, key := range strings.Split(args[2], ".") {
			m, ok := v.(map[string]any)
			if !ok {
				ts.Fatalf("%s: %s of %s is %v, not an object", args[0], key, args[1], v)
			}
			v = m[key]
		}
		got := fmt.Sprint(v)
		if (got == args[3]) == neg {
			ts.Fatalf("%s: %s of %s is %q, want %s%q", args[0], args[2], args[1], got, map[bool]string{true: "not "}[neg], args[3])
		}
		return
	}
	ts.Fatalf("%s: no instance %s", args[0], args[1])
}

// jsonl FILE: every line of FILE is one JSON object (what --json prints: logs a line
// per object, errors as one line). jsondoc FILE: FILE is one JSON document.
func cmdJSONLines(ts *testscript.TestScript, neg bool, args []string) {
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		ts.Fatalf("%s is empty, want JSON lines", args[0])
	}
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			ts.Fatalf("%s:%d is not a JSON object: %v: %q", args[0], i+1, err, l)
		}
	}
}

func cmdJSONDoc(ts *testscript.TestScript, neg bool, args []string) {
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		ts.Fatalf("%s is not one JSON document: %v", args[0], err)
	}
}
