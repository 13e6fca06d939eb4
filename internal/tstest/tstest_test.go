package tstest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	n := 0
	if !Poll(time.Second, func() bool { n++; return n == 3 }) {
		t.Fatalf("Poll gave up; want it to return true on the third try")
	}
	if n != 3 {
		t.Errorf("got %d tries, want 3", n)
	}
	start := time.Now()
	if Poll(20*time.Millisecond, func() bool { return false }) {
		t.Fatalf("Poll of a condition that never holds returned true")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Poll gave up after %s, want at least 20ms", d)
	}
}

func TestBufferConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "%d\n", i)
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 16 {
		t.Errorf("got %d bytes, want 16", got)
	}
	b.Reset()
	if got := b.String(); got != "" {
		t.Errorf("after Reset got %q, want empty", got)
	}
}

func TestLookToolFindsAbsoluteAndPathTools(t *testing.T) {
	sh, err := LookTool("sh")
	if err != nil || sh == "" {
		t.Fatalf("LookTool(sh) = %q, %v; want a path", sh, err)
	}
	if got, err := LookTool(sh); err != nil || got != sh {
		t.Fatalf("LookTool(%q) = %q, %v; want itself", sh, got, err)
	}
	if _, err := LookTool("devcluster-no-such-tool-xyz"); err == nil {
		t.Fatal("LookTool of a missing tool: got no error")
	}
	if _, err := LookTool(t.TempDir()); err == nil {
		t.Fatal("LookTool of a directory: got no error")
	}
}

func TestInCIIsAnyNonEmptyValue(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"", false}, {"true", true}, {"1", true}, {"yes", true}} {
		t.Setenv("CI", tc.val)
		if got := InCI(); got != tc.want {
			t.Errorf("CI=%q: InCI() = %v, want %v", tc.val, got, tc.want)
		}
	}
}

func TestSeedFromEnvOrClock(t *testing.T) {
	clock := func() time.Time { return time.Unix(0, 42) }
	for _, tc := range []struct {
		env     string
		want    uint64
		wantErr bool
	}{{"", 42, false}, {"7", 7, false}, {"18446744073709551615", 18446744073709551615, false}, {"0", 0, true}, {"x", 0, true}, {"-1", 0, true}} {
		got, err := seedFrom(tc.env, clock)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s=%q: got %d, %v; want %d, error %v", SeedEnv, tc.env, got, err, tc.want, tc.wantErr)
		}
	}
	t.Setenv(SeedEnv, "1234")
	if got := Seed(t); got != 1234 {
		t.Errorf("Seed with %s=1234: got %d", SeedEnv, got)
	}
}

// verdictTB records how MissingTool ended the test instead of ending it.
type verdictTB struct {
	testing.TB
	fatal, skip string
}

func (v *verdictTB) Helper()                           {}
func (v *verdictTB) Fatalf(format string, args ...any) { v.fatal = fmt.Sprintf(format, args...) }

// Skip after Fatalf is not reached in a real test (Fatalf ends the goroutine).
func (v *verdictTB) Skip(args ...any) {
	if v.fatal == "" {
		v.skip = fmt.Sprint(args...)
	}
}

// TestMissingToolFailsUnderCIAndSkipsElsewhere is the rule every tool check follows
// (it was browsertest's test of chromium's check, which now is NeedTool).
func TestMissingToolFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	want := "devcluster-no-such-tool-xyz (devcluster-no-such-tool-xyz is not on PATH nor in [/usr/sbin /sbin /usr/local/sbin]) is missing; install it with: sudo apt-get install -y xyz"
	for _, ci := range []string{"true", "1", ""} {
		t.Setenv("CI", ci)
		v := &verdictTB{TB: t}
		if got := NeedTool(v, "devcluster-no-such-tool-xyz", "sudo apt-get install -y xyz"); got != "" {
			t.Errorf("CI=%q: got path %q, want none", ci, got)
		}
		switch {
		case ci != "" && (v.fatal != want+" (CI is set: a missing tool fails the run)" || v.skip != ""):
			t.Errorf("CI=%q: got fatal %q, skip %q; want a failure with the install line", ci, v.fatal, v.skip)
		case ci == "" && (v.skip != want || v.fatal != ""):
			t.Errorf("no CI: got fatal %q, skip %q; want a skip with the install line", v.fatal, v.skip)
		}
	}
	t.Setenv("CI", "true")
	v := &verdictTB{TB: t}
	if got := NeedTool(v, "sh", "x"); got == "" || v.fatal != "" || v.skip != "" {
		t.Errorf("NeedTool(sh) under CI: got %q (fatal %q, skip %q), want its path", got, v.fatal, v.skip)
	}
}

// TestConditionFollowsTheSameRule: a CLI script's tool condition holds when the tool
// is there, is false on a developer's machine, and is an error under CI.
func TestConditionFollowsTheSameRule(t *testing.T) {
	missing := fmt.Errorf("haproxy is not on PATH")
	t.Setenv("CI", "")
	if ok, err := Condition(nil, "x"); !ok || err != nil {
		t.Errorf("present: got %v, %v; want true, nil", ok, err)
	}
	if ok, err := Condition(missing, "x"); ok || err != nil {
		t.Errorf("missing, no CI: got %v, %v; want false, nil", ok, err)
	}
	t.Setenv("CI", "yes")
	if ok, err := Condition(missing, "sudo apt-get install -y haproxy"); ok || err == nil || !strings.Contains(err.Error(), "sudo apt-get install -y haproxy") {
		t.Errorf("missing under CI: got %v, %v; want false and an error with the install line", ok, err)
	}
}

func TestInstallLines(t *testing.T) {
	for name, want := range map[string]string{
		"haproxy": "sudo apt-get install -y haproxy", "/usr/bin/gunicorn": "sudo apt-get install -y gunicorn",
		"systemd-analyze": "sudo apt-get install -y systemd", "prlimit": "sudo apt-get install -y util-linux",
	} {
		if got := InstallLine(name); got != want {
			t.Errorf("InstallLine(%q) = %q, want %q", name, got, want)
		}
	}
}
