package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStartInstanceSaysWhyNotReady: `devcluster start` and `restart` wait for
// ready; when the instance dies first, the error says how and where to look.
func TestStartInstanceSaysWhyNotReady(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	broken := filepath.Join(t.TempDir(), "broken")
	c := startCluster(t, tag, Config{
		Specs:   []InstanceSpec{helperSpec(tag, "web.1", freePort(t), "serve", "HELPER_BROKEN_FILE="+broken)},
		Backoff: func(int) time.Duration { return time.Hour },
	})
	c.waitReady()
	if err := c.s.StopInstance(context.Background(), "web.1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := "web.1 did not become ready: exited with status 1 (see devcluster logs web.1)"
	if err := c.s.StartInstance(context.Background(), "web.1"); err == nil || err.Error() != want {
		t.Errorf("StartInstance: got %v, want %q", err, want)
	}
	if err := c.s.Restart(context.Background(), "web.1"); err == nil || err.Error() != "restart web: "+want {
		t.Errorf("Restart: got %v, want %q", err, "restart web: "+want)
	}
}

// TestRestartNamesLeftoverOnPort is issue 10 item 10's false success: with the
// port held by a leftover, the new instance crash-looped on EADDRINUSE while the
// readiness probe connected to the leftover, and `devcluster restart` succeeded.
func TestRestartNamesLeftoverOnPort(t *testing.T) {
	t.Parallel()
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{
		Specs:           []InstanceSpec{helperSpec(tag, "web.1", port, "serve")},
		Backoff:         func(int) time.Duration { return time.Hour },
		PortFreeTimeout: 100 * time.Millisecond,
	})
	c.waitReady()
	if err := c.s.StopInstance(context.Background(), "web.1"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)) // the leftover
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := fmt.Sprintf("start web.1 (port %d): address already in use — held by pid %d (", port, os.Getpid())
	if err := c.s.StartInstance(context.Background(), "web.1"); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("StartInstance: got %v, want %q...", err, want)
	}
	if err := c.s.Restart(context.Background(), "web.1"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Restart: got %v, want an error containing %q", err, want)
	}
	if st := c.status("web.1"); st.State == StateReady {
		t.Errorf("state: got %q with the port held by another process, want not ready", st.State)
	}
}
