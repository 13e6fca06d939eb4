package supervisor

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// interpreterOptionCase is one row of testdata/interpreter_options.json, the one
// table of what a command may give the interpreter for a warm standby to run it:
// TestInterpreterOptionsTable holds the Go side to it, and
// TestStandbyScriptAgreesOnInterpreterOptions standby.py's parse.
type interpreterOptionCase struct {
	Args   []string `json:"args"`
	Warm   bool     `json:"warm"`
	Mode   string   `json:"mode"`
	Target string   `json:"target"`
}

func interpreterOptionCases(t *testing.T) []interpreterOptionCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "interpreter_options.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []interpreterOptionCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("testdata/interpreter_options.json: %v", err)
	}
	return cases
}

func TestInterpreterOptionsTable(t *testing.T) {
	t.Parallel()
	for _, tc := range interpreterOptionCases(t) {
		got := interpreterArgsProblem(tc.Args)
		if (got == "") != tc.Warm {
			t.Errorf("interpreterArgsProblem(%q) = %q, want warm=%v", tc.Args, got, tc.Warm)
		}
	}
}

// TestStandbyScriptAgreesOnInterpreterOptions runs standby.py's parse over the
// same table: what Go accepts for a standby, standby.py runs warm, and the
// other way round.
func TestStandbyScriptAgreesOnInterpreterOptions(t *testing.T) {
	t.Parallel()
	cases := interpreterOptionCases(t)
	var args [][]string
	for _, tc := range cases {
		args = append(args, tc.Args)
	}
	got := runStandbyParse(t, args)
	for i, tc := range cases {
		mode, _ := got[i][0].(string)
		target, _ := got[i][1].(string)
		if (mode != "") != tc.Warm || mode != tc.Mode || target != tc.Target {
			t.Errorf("standby.py parse(%q) = mode %q target %q (why %v), want warm=%v mode %q target %q",
				tc.Args, mode, target, got[i][3], tc.Warm, tc.Mode, tc.Target)
		}
	}
}

// runStandbyParse returns standby.py's parse(args) for each of cases, as
// [mode, target, rest, why].
func runStandbyParse(t *testing.T, cases [][]string) [][]any {
	t.Helper()
	prog := `import json, sys
m = load_standby(sys.argv[1])
print(json.dumps([list(m.parse(args)) for args in json.loads(sys.argv[2])]))
`
	in, _ := json.Marshal(cases)
	out := runStandbyPython(t, prog, string(in))
	var got [][]any
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("%v in %s", err, out)
	}
	return got
}

// runStandbyPython runs prog with standby.py loadable as load_standby(path)
// (argv[1] is its path, then args) and returns what it printed.
func runStandbyPython(t *testing.T, prog string, args ...string) []byte {
	t.Helper()
	script := filepath.Join(t.TempDir(), "standby.py")
	if err := os.WriteFile(script, standbyPy, 0o600); err != nil {
		t.Fatal(err)
	}
	head := `import importlib.util
def load_standby(path):
    spec = importlib.util.spec_from_file_location("standby", path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m
`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", head + prog, script}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python3: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("python3: %v", err)
	}
	return out
}

// shebangFlags is what the scripts of TestShebangAsLinuxPassesIt print: that
// they started, and the interpreter flags a standby must reproduce.
const shebangFlags = "import sys\nprint('started', sys.stdout.write_through, sys.flags.dont_write_bytecode, sys.flags.optimize, sys.flags.no_user_site)\n"

// TestShebangAsLinuxPassesIt: Linux gives a #! line's interpreter everything
// after it as ONE argument. For each line, the real exec decides: a script
// that cannot start (env looking for a program named "python3 -u", exit 127;
// python3 refusing the option "-u -B", exit 2) is reported by CheckCommands with
// its file:line, one that starts is not; and where a standby is accepted, its
// interpreter runs with exactly the flags the script gets run cold.
func TestShebangAsLinuxPassesIt(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("/usr/bin/python3 is missing: apt-get install python3 (scripts/deps.sh installs it)")
	}
	tests := []struct {
		line    string
		starts  bool
		standby bool
		fix     string // in CheckCommands' message when it does not start
	}{
		{"#!/usr/bin/python3", true, true, ""},
		{"#! /usr/bin/python3 \t", true, true, ""},
		{"#!/usr/bin/env python3", true, true, ""},
		{"#!/usr/bin/python3 -u", true, true, ""},
		{"#!/usr/bin/python3 -uB", true, true, ""},
		{"#!/usr/bin/python3   -u  ", true, true, ""},
		{"#!/usr/bin/env -S python3 -u", true, true, ""},
		{"#!/usr/bin/env -S python3 -u -B", true, true, ""},
		{"#!/usr/bin/python3 -s", true, false, ""},
		{"#!/usr/bin/python3 -W ignore", true, false, ""},
		{"#!/usr/bin/env -S python3 -O", true, false, ""},
		{"#!/bin/sh", true, false, ""},
		{"#!/usr/bin/python3 -u -B", false, false, `"#!/usr/bin/python3 -uB"`},
		{"#!/usr/bin/python3 -u -s", false, false, `"#!/usr/bin/python3 -us"`},
		{"#!/usr/bin/env python3 -u", false, false, `"#!/usr/bin/env -S python3 -u"`},
		{"#!/usr/bin/env python3 -u -B", false, false, `"#!/usr/bin/env -S python3 -u -B"`},
		{"#!/usr/bin/env -i python3", false, false, `"#!/usr/bin/env -S -i python3"`},
		{"#!/usr/bin/env python3.99", false, false, "python3.99"},
		{"#!/usr/bin/python3.99", false, false, "/usr/bin/python3.99"},
	}
	bin := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin"}
	for i, tt := range tests {
		file := filepath.Join(bin, "serve"+string(rune('a'+i)))
		body := tt.line + "\n" + shebangFlags
		if strings.HasSuffix(tt.line, "/bin/sh") {
			body = tt.line + "\necho started 0 0 0 0\n"
		}
		if err := os.WriteFile(file, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(file)
		cmd.Env = env
		cold, err := cmd.CombinedOutput()
		if started := err == nil && strings.HasPrefix(string(cold), "started"); started != tt.starts {
			t.Fatalf("%q: the test's premise is wrong: the script started=%v (%v: %s), want %v", tt.line, started, err, cold, tt.starts)
		}
		sp := InstanceSpec{ID: "web.1", Process: "web", Command: file + " --bind 127.0.0.1:$PORT", Env: env, Dir: bin}
		checkErr := CheckCommands([]InstanceSpec{sp})
		switch {
		case tt.starts && checkErr != nil:
			t.Errorf("%q starts, but CheckCommands says: %v", tt.line, checkErr)
		case !tt.starts && checkErr == nil:
			t.Errorf("%q cannot start (%s), but CheckCommands passes it", tt.line, strings.TrimSpace(string(cold)))
		case !tt.starts && (!strings.Contains(checkErr.Error(), file+":1: ") || !strings.Contains(checkErr.Error(), tt.fix)):
			t.Errorf("%q: CheckCommands says %q, want %s:1: and the fix %s", tt.line, checkErr, file, tt.fix)
		}
		why := StandbyProblem(sp)
		if (why == "") != tt.standby {
			t.Errorf("StandbyProblem for %q = %q, want standby=%v", tt.line, why, tt.standby)
		}
		if why != "" {
			continue
		}
		// The standby's interpreter, run on a script that prints the same flags:
		// what sh runs for the standby, with flags.py in standby.py's place.
		flags := filepath.Join(t.TempDir(), "flags.py")
		if err := os.WriteFile(flags, []byte(shebangFlags), 0o600); err != nil {
			t.Fatal(err)
		}
		sh := exec.Command("/bin/sh", "-c", standbyCommand(sp, flags, 4))
		sh.Env = append(env, "PORT=5000")
		warm, err := sh.CombinedOutput()
		if err != nil || string(warm) != string(cold) {
			t.Errorf("%q: the standby's interpreter (%s) prints %q (%v), the script run cold %q",
				tt.line, standbyCommand(sp, flags, 4), warm, err, cold)
		}
	}
}
