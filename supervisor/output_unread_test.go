package supervisor

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestUnreadOutputDoesNotStopInstances (issue 21 item 1): with Output and Log
// pipes that nobody reads, an instance printing 30,000 lines before it serves
// still becomes ready, and every line reaches Logs: the instances' pipes are
// drained whatever devcluster's own output does, and the lines that did not fit
// are dropped from Output only.
func TestUnreadOutputDoesNotStopInstances(t *testing.T) {
	t.Parallel()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Closed last: a supervisor stuck writing gets EPIPE and the test ends.
	defer outR.Close()
	defer logR.Close()
	defer outW.Close()
	defer logW.Close()
	tag := newTag(t)
	sp := helperSpec(tag, "web.1", freePort(t), "serve")
	sp.Command = "seq 1 30000 && exec " + sp.Command
	s, err := New(Config{Specs: []InstanceSpec{sp}, Output: outW, Log: logW, Balancer: newFakeBalancer()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	defer func() {
		cancel()
		outR.Close() // an old supervisor blocked in a write returns now
		logR.Close()
		select {
		case <-errc:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30 s of the cancel")
		}
		if pids := taggedPIDs(tag); len(pids) > 0 {
			t.Errorf("processes left running after Run returned: %v", pids)
		}
	}()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("web.1 not ready within 30 s: its output blocked it (devcluster's stdout is not read)")
	}
	tstest.WaitFor(t, 30*time.Second, "web.1's line 30000 in Logs", func() bool {
		for _, l := range s.Logs([]string{"web.1"}, 0) {
			if strings.TrimSpace(l.Text) == "30000" {
				return true
			}
		}
		return false
	})
}
