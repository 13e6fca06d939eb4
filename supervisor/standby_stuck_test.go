package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// stuckStandbyStartTimeout is the StartTimeout of the tests below: what a start
// that waits on a stuck standby waits before it fails (30 s by default). Well
// above a cold start, so that it only catches the wait.
const stuckStandbyStartTimeout = 10 * time.Second

// TestStoppedStandbyIsSkippedForAColdStart: a warm standby that is SIGSTOPped
// cannot take its go. The restart used to hand it the go anyway and wait
// StartTimeout for it, then fail; now the standby is dropped after a short
// bound, the start is cold and succeeds, and the log names the cause.
func TestStoppedStandbyIsSkippedForAColdStart(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{StartTimeout: stuckStandbyStartTimeout, Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port),
	}})
	c.waitReady()
	standby := c.waitStandby("web.1")
	if err := syscall.Kill(standby, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart with a stopped standby: %v", err)
	}
	t.Logf("Restart with a stopped standby took %s", time.Since(began).Round(time.Millisecond)) // for RELIABILITY.md, not asserted
	if a := askStandbyApp(t, port); a.PID == standby || a.Preloaded {
		t.Errorf("after the restart: %+v, want a cold start, not the stopped standby (pid %d)", a, standby)
	}
	log := c.log.String()
	if want := "web.1: its standby (pid " + strconv.Itoa(standby) + ") did not take the go within 1s (it is stopped: SIGSTOP, or a debugger); starting cold"; !strings.Contains(log, want) {
		t.Errorf("the log does not say %q:\n%s", want, log)
	}
	if strings.Contains(log, "Fix the error") {
		t.Errorf("the log blames the app's code:\n%s", log)
	}
	tstest.WaitFor(t, 10*time.Second, "the stopped standby to be gone", func() bool { return !pidAlive(standby) })
}

// TestStandbyStuckOnABrokenSaveIsNotUsed: a library file saved broken (its
// import hangs) is what the next standby preloads, and it hangs there. Once the
// file is fixed, the next start used to hand that standby the go, wait
// StartTimeout and fail; now a standby that has not said it is warm is never
// used: it is dropped, the start is cold and runs the fixed file.
func TestStandbyStuckOnABrokenSaveIsNotUsed(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	port := freePort(t)
	sp := standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port)
	c := startCluster(t, tag, Config{StartTimeout: stuckStandbyStartTimeout, Specs: []InstanceSpec{sp}})
	c.waitReady()
	first := c.waitStandby("web.1")

	// The broken save: importing mylib now hangs (and says it got there).
	importing := filepath.Join(t.TempDir(), "importing")
	broken := "import time\nopen(" + pyQuote(importing) + ", 'w').close()\ntime.sleep(3600)\nVALUE = 'a'\n"
	if err := os.WriteFile(filepath.Join(lib, "mylib.py"), []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	// A new standby (SetEnv replaces the one there), which preloads the broken file.
	if err := c.s.SetEnv(context.Background(), "web", append(slices.Clone(sp.Env), "SAVE=2")); err != nil {
		t.Fatalf("SetEnv: %v", err)
	}
	tstest.WaitFor(t, 10*time.Second, "the next standby to hang importing mylib", func() bool {
		_, err := os.Stat(importing)
		return err == nil && !pidAlive(first)
	})

	// The good save.
	if err := os.WriteFile(filepath.Join(lib, "mylib.py"), []byte("VALUE = 'fixed'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart after the fix: %v", err)
	}
	t.Logf("Restart after the fix took %s", time.Since(began).Round(time.Millisecond)) // for RELIABILITY.md, not asserted
	if a := askStandbyApp(t, port); a.Lib != "fixed" || a.Preloaded {
		t.Errorf("after the fix: %+v, want a cold start with lib fixed", a)
	}
	log := c.log.String()
	if want := "web.1: its standby (pid "; !strings.Contains(log, want) || !strings.Contains(log, "is still importing the app's libraries after") {
		t.Errorf("the log does not say the standby was still importing:\n%s", log)
	}
	if strings.Contains(log, "Fix the error") {
		t.Errorf("the log blames the app's code:\n%s", log)
	}
}

// TestStandbyStillWarmingIsWaitedFor: a standby that is still importing when
// the start comes, but not stuck (here its import takes 0.3 s), has a head start
// on a cold start and is waited for (at most standbyWarmWait), not dropped:
// under load, dropping every standby not yet warm made a save's start cold.
func TestStandbyStillWarmingIsWaitedFor(t *testing.T) {
	t.Parallel()
	dir, lib := standbyProject(t)
	tag := newTag(t)
	port := freePort(t)
	importing := filepath.Join(t.TempDir(), "importing")
	slow := "import os, sys, time\nif sys.argv[0].endswith('standby.py') and os.environ.get('SAVE'):\n" +
		"    open(" + pyQuote(importing) + ", 'w').close()\n    time.sleep(0.3)\nVALUE = 'a'\n"
	if err := os.WriteFile(filepath.Join(lib, "mylib.py"), []byte(slow), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := standbySpec(tag, "web.1", dir, lib, "/usr/bin/python3 app.py", port)
	c := startCluster(t, tag, Config{StartTimeout: stuckStandbyStartTimeout, Specs: []InstanceSpec{sp}})
	c.waitReady()
	c.waitStandby("web.1")
	// A new standby, whose import of mylib is slow; the restart comes while it imports.
	if err := c.s.SetEnv(context.Background(), "web", append(slices.Clone(sp.Env), "SAVE=2")); err != nil {
		t.Fatalf("SetEnv: %v", err)
	}
	tstest.WaitFor(t, 10*time.Second, "the next standby to import mylib", func() bool {
		_, err := os.Stat(importing)
		return err == nil
	})
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if a := askStandbyApp(t, port); !a.Preloaded {
		t.Errorf("after the restart: %+v, want the standby that was still warming, preloaded", a)
	}
	if log := c.log.String(); strings.Contains(log, "starting cold") {
		t.Errorf("the standby was dropped:\n%s", log)
	}
}
