package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as a client under another uid.
const (
	helperEnv       = "DEVCLUSTER_CONTROL_TEST_HELPER"
	helperSocketEnv = "DEVCLUSTER_CONTROL_TEST_SOCKET"
	nobody          = 65534
)

// runHelper is the child's main: dial the socket, ask for the status, print
// what happened. Exit 0: it got the status; 1: Dial failed; 2: Status failed.
func runHelper() int {
	c, err := Dial(os.Getenv(helperSocketEnv))
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Status(ctx); err != nil {
		fmt.Println("status:", err)
		return 2
	}
	fmt.Println("status: ok")
	return 0
}

// otherUserEnv prepares a world-traversable directory holding a copy of the
// test binary that uid nobody can run (go test's own temp directories are
// 0700), and returns it.
func otherUserEnv(t *testing.T) (base, exe string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid (uid 65534); run the tests as root to check that other users are refused")
	}
	base, err := os.MkdirTemp("", "devcluster-control-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe = filepath.Join(base, "control.test")
	if err := copyFile(self, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, exe
}

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// runAsNobody runs the helper against path as uid/gid 65534.
func runAsNobody(t *testing.T, exe, path string) (exitCode int, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []byte
	var err error
	// A parallel test's fork may briefly hold an inherited descriptor of the copy we
	// just wrote (between its fork and exec), which makes exec fail with ETXTBSY: a
	// regression seen in the full suite. Retry, as the go command's tests do.
	for attempt := 0; ; attempt++ {
		cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
		cmd.Dir = filepath.Dir(exe)
		cmd.Env = []string{helperEnv + "=1", helperSocketEnv + "=" + path, "PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err = cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("run helper as uid %d: %v (%s)", nobody, err, out)
	}
	return 0, string(out)
}

func TestOtherUserCannotConnect(t *testing.T) {
	t.Parallel()
	base, exe := otherUserEnv(t)
	project := filepath.Join(base, "project")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	s := serveFake(t, project)
	code, out := runAsNobody(t, exe, s.path)
	if code != 1 || !strings.Contains(out, "permission denied") {
		t.Errorf("got exit %d, output %q; want exit 1 (Dial failed) with \"permission denied\"", code, out)
	}
	if calls := s.fake.Calls(); len(calls) != 0 {
		t.Errorf("got cluster calls %q from another user, want none", calls)
	}
}

// With the directory and socket opened up by mistake, the server's peer
// credential check still refuses another uid.
func TestOtherUserForbiddenByPeerCheck(t *testing.T) {
	t.Parallel()
	base, exe := otherUserEnv(t)
	project := filepath.Join(base, "project")
	if err := os.Mkdir(project, 0o755); err != nil {
		t.Fatal(err)
	}
	s := serveFake(t, project)
	if err := os.Chmod(filepath.Dir(s.path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.path, 0o666); err != nil {
		t.Fatal(err)
	}
	code, out := runAsNobody(t, exe, s.path)
	want := fmt.Sprintf("status: devcluster control: uid %d may not control a cluster run by uid %d", nobody, os.Getuid())
	if code != 2 || !strings.Contains(out, want) {
		t.Errorf("got exit %d, output %q; want exit 2 with %q", code, out, want)
	}
	if calls := s.fake.Calls(); len(calls) != 0 {
		t.Errorf("got cluster calls %q from another user, want none", calls)
	}
}
