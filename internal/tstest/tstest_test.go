package tstest

import (
	"fmt"
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
