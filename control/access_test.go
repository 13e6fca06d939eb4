package control

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// accessFake is a fake cluster that serves the access log from reqs, then
// ends with err.
type accessFake struct {
	*fakeCluster
	reqs []Request
	err  error
}

func (f *accessFake) AccessLog(ctx context.Context, out func(Request) error) error {
	for _, r := range f.reqs {
		if err := out(r); err != nil {
			return err
		}
	}
	if f.err != nil {
		return f.err
	}
	<-ctx.Done()
	return ctx.Err()
}

// serveCluster serves c on a socket in a new directory until the test ends.
func serveCluster(t *testing.T, c Cluster) *Client {
	t.Helper()
	path := SocketPath(t.TempDir())
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(c).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestAccessLogStreamsRequests: every field crosses the socket, durations
// included, and a cancelled follower ends with ctx's error.
func TestAccessLogStreamsRequests(t *testing.T) {
	t.Parallel()
	want := []Request{
		{Time: time.Date(2026, 12, 1, 12, 0, 1, 0, time.UTC), Instance: "web.3", Process: "web", Method: "GET", Path: "/cart",
			Status: 200, Duration: 12 * time.Millisecond, Upstream: 11 * time.Millisecond, RequestID: "9f2c01ab-1f", BytesOut: 5},
		{Time: time.Date(2026, 12, 1, 12, 0, 2, 0, time.UTC), Instance: "web.2", Process: "web", Method: "POST", Path: "/x?a=1",
			Status: 502, Duration: 3 * time.Millisecond, Decision: "retried from web.1: refused", ErrorClass: "connect", BytesIn: 7, Retries: 1},
	}
	c := serveCluster(t, &accessFake{fakeCluster: newFake(), reqs: want})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []Request
	err := c.AccessLog(ctx, func(r Request) error {
		got = append(got, r)
		if len(got) == len(want) {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AccessLog ended with %v, want context.Canceled", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("request %d: time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if got[i] != want[i] {
			t.Errorf("request %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestAccessLogErrors: a cluster without an access log answers 501 with a
// message, and a cluster's failure mid-stream reaches the follower.
func TestAccessLogErrors(t *testing.T) {
	t.Parallel()
	t.Run("not served", func(t *testing.T) {
		t.Parallel()
		c := serveCluster(t, newFake())
		err := c.AccessLog(context.Background(), func(Request) error { return nil })
		var ce *Error
		if !errors.As(err, &ce) || ce.Code != http.StatusNotImplemented {
			t.Errorf("got %v, want a 501 *Error", err)
		}
	})
	t.Run("cluster fails", func(t *testing.T) {
		t.Parallel()
		c := serveCluster(t, &accessFake{fakeCluster: newFake(), reqs: []Request{{Instance: "web.1"}},
			err: Errorf(http.StatusConflict, "access log: off")})
		n := 0
		err := c.AccessLog(context.Background(), func(Request) error { n++; return nil })
		if err == nil || err.Error() != "access log: off" || n != 1 {
			t.Errorf("got %v after %d requests, want \"access log: off\" after 1", err, n)
		}
	})
}
