package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The CLI scripts run in parallel in one network namespace, and each binds the
// ports it names; two scripts naming the same port fail each other at random ("port
// 6300 is held by …"). A script owns every port number it writes (5000–32767) and the
// ten after each base port it hands devcluster (--port, -p, port:, PORT=), where the
// instances land; TestScriptsShareNoPort proves no two scripts own the same one.
//
// A number in that range that is no port (a file size, an expected line) is listed on
// a line "# not ports: N …" of its script.

var (
	// portWordRE finds 4- or 5-digit numbers standing alone: not part of a version
	// (1.2345), a duration (1500ms) or a longer number.
	portWordRE = regexp.MustCompile(`(^|[^0-9.])([0-9]{4,5})\b`)
	// basePortRE finds the base port of a cluster: its instances take the next ports.
	basePortRE = regexp.MustCompile(`(?:--port[ =]|-p |\bport: *|\bPORT=)([0-9]{4,5})\b`)
	notPortsRE = regexp.MustCompile(`(?m)^# not ports:(.*)$`)
)

const (
	minScriptPort = 5000
	maxScriptPort = 32767
	// instancesPerBase is how many ports after a base port a script owns.
	instancesPerBase = 10
)

// scriptPorts returns the ports a script owns.
func scriptPorts(text string) map[int]bool {
	skip := map[int]bool{}
	for _, m := range notPortsRE.FindAllStringSubmatch(text, -1) {
		for _, f := range strings.Fields(m[1]) {
			if n, err := strconv.Atoi(f); err == nil {
				skip[n] = true
			}
		}
	}
	ports := map[int]bool{}
	for _, m := range portWordRE.FindAllStringSubmatch(text, -1) {
		if n, _ := strconv.Atoi(m[2]); n >= minScriptPort && n <= maxScriptPort && !skip[n] {
			ports[n] = true
		}
	}
	for _, m := range basePortRE.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		if skip[n] {
			continue
		}
		for i := range instancesPerBase {
			ports[n+i] = true
		}
	}
	return ports
}

func TestScriptPortsFindsBasesAndLiterals(t *testing.T) {
	t.Parallel()
	got := scriptPorts("# not ports: 12345\nexec devcluster up --port 6300 --listen 127.0.0.1:8371\nsleep 1500ms\nstdout 12345\nversion 1.23456\n-- c.yaml --\n    port: 7000\n")
	var list []int
	for p := range got {
		list = append(list, p)
	}
	sort.Ints(list)
	want := []int{6300, 6301, 6302, 6303, 6304, 6305, 6306, 6307, 6308, 6309, 7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 8371}
	if !equalInts(list, want) {
		t.Errorf("got %v, want %v", list, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScriptsShareNoPort(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts found (%v)", err)
	}
	owner := map[int]string{}
	clashes := map[string][]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for p := range scriptPorts(string(b)) {
			if o, ok := owner[p]; ok {
				key := o + " and " + name
				clashes[key] = append(clashes[key], p)
				continue
			}
			owner[p] = name
		}
	}
	var keys []string
	for k := range clashes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps := clashes[k]
		sort.Ints(ps)
		t.Errorf("%s both use ports %v: give one of them a range no other script uses", k, ps)
	}
}

// TestScriptsNeedToolsOneWay: a script asks for an outside tool only through the
// harness's conditions ([tool:NAME], [flask], [django], [fastapi], [redis]), which fail under
// CI, never through testscript's [exec:NAME], which skips quietly there too; and the
// skip that follows a missing tool says how to install it.
func TestScriptsNeedToolsOneWay(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts found (%v)", err)
	}
	toolCond := regexp.MustCompile(`^\[!(tool:\S+|flask|django|fastapi|redis)\] (\S+)(.*)$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "-- ") {
				break // the archive's files
			}
			where := filepath.Base(f) + ":" + strconv.Itoa(i+1)
			if strings.Contains(line, "[exec:") || strings.Contains(line, "[!exec:") {
				t.Errorf("%s: %q: use [tool:NAME], which fails under CI, not testscript's [exec:NAME]", where, line)
			}
			if m := toolCond.FindStringSubmatch(line); m != nil && (m[2] != "skip" || !strings.Contains(m[3], "install")) {
				t.Errorf("%s: %q: a missing tool skips the script with the line that installs it", where, line)
			}
		}
	}
}
