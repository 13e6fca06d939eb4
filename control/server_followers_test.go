package control

import (
	"context"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestStatusCountsFollowers: a logs -f stream shows in Status.Followers while
// it is open, so that a script can wait for it to connect.
func TestStatusCountsFollowers(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	ctx := context.Background()
	followers := func() int {
		st, err := s.client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Followers
	}
	if n := followers(); n != 0 {
		t.Fatalf("got %d followers before any, want 0", n)
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.client.Logs(fctx, nil, 0, true, func(LogLine) error { return nil }) }()
	tstest.WaitFor(t, 10*time.Second, "one follower", func() bool { return followers() == 1 })
	stop()
	<-done
	tstest.WaitFor(t, 10*time.Second, "no follower", func() bool { return followers() == 0 })
}
