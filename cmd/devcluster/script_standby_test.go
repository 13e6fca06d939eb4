package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/devcluster/devcluster/internal/tstest"
)

// standbys FILE [TIMEOUT]: wait until every instance has a warm standby
// (reload.standby), then write "ID PID" per instance to FILE.
func cmdStandbys(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: standbys FILE [TIMEOUT]")
	}
	timeout := argTimeout(ts, args, 1)
	var lines []string
	var last string
	if !tstest.Poll(timeout, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			last = err.Error()
			return false
		}
		lines = lines[:0]
		for _, in := range st.Instances {
			if in.StandbyPID == 0 {
				last = in.ID + " has no standby"
				return false
			}
			lines = append(lines, fmt.Sprintf("%s %d", in.ID, in.StandbyPID))
		}
		return len(lines) > 0
	}) {
		ts.Fatalf("standbys: not every instance had a warm standby within %s (last: %s)", timeout, last)
	}
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

// tookover FILE: every instance listed in FILE (by standbys) now runs as the
// standby that was saved for it: the same pid.
func cmdTookOver(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: tookover FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	st, err := scriptStatus(ts)
	ts.Check(err)
	pids := make(map[string]int)
	for _, in := range st.Instances {
		pids[in.ID] = in.PID
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		id, p, _ := strings.Cut(line, " ")
		want, _ := strconv.Atoi(p)
		if (pids[id] == want) == neg {
			ts.Fatalf("tookover: %s runs as pid %d; its standby was pid %d", id, pids[id], want)
		}
	}
}
