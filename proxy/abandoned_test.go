package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// sendHead opens a connection to the proxy and sends a GET with extra header
// lines; the caller closes it.
func sendHead(t *testing.T, addr, extra string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestHeaderFaultDelayCappedLikeAPI: X-Devcluster-Fault: delay=1000h was
// accepted while the control API caps a delay at an hour; 4,200 such
// send-and-close requests pinned 4,097 sockets. A header fault now has the
// API's bounds and gets a 400 that says them.
func TestHeaderFaultDelayCappedLikeAPI(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{FaultHeaders: true})
	n := countingBackend(t, tp, "web.1")
	for _, v := range []string{"delay=1000h", "delay=61m", "delay=-1s"} {
		conn := sendHead(t, tp.Addr, "X-Devcluster-Fault: "+v+"\r\n")
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Errorf("%s: no answer within 5 s (%v): the delay was accepted", v, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "at most 1h0m0s") && v != "delay=-1s" {
			t.Errorf("%s: got %d %q, want 400 naming the limit (at most 1h0m0s)", v, resp.StatusCode, body)
		}
	}
	if _, err := parseFaultHeader("delay=1h"); err != nil {
		t.Errorf("delay=1h, the limit itself: %v", err)
	}
	if got := n.Load(); got != 0 {
		t.Errorf("the instance got %d requests, want none", got)
	}
}

// TestAbandonedDelayedRequestDroppedAtOnce: with fault delay web.1 50s and
// clients that gave up, the proxy held every request for the whole 50 s,
// counted as active, and then sent it to the instance. A request whose client
// has gone is dropped at once, as HAProxy and nginx drop theirs.
func TestAbandonedDelayedRequestDroppedAtOnce(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	n := countingBackend(t, tp, "web.1")
	if err := tp.SetFault("web.1", Fault{Kind: FaultDelay, Delay: 50 * time.Second}); err != nil {
		t.Fatal(err)
	}
	const clients = 20
	var conns []net.Conn
	for range clients {
		conns = append(conns, sendHead(t, tp.Addr, ""))
	}
	tstest.WaitFor(t, 10*time.Second, "the 20 delayed requests to be active", func() bool {
		return statsOf(tp.Proxy, "web.1").Active == clients
	})
	for _, c := range conns {
		c.Close()
	}
	if !tstest.Poll(10*time.Second, func() bool { return statsOf(tp.Proxy, "web.1").Active == 0 }) {
		t.Fatalf("10 s after their clients left, %d of the %d delayed requests were still held (a 50 s delay)",
			statsOf(tp.Proxy, "web.1").Active, clients)
	}
	tp.ClearFaults()
	if got := n.Load(); got != 0 {
		t.Errorf("the instance got %d abandoned requests, want none", got)
	}
}

// TestAbandonedHeaderDelayDroppedAtOnce: the same for a request's own
// X-Devcluster-Fault: delay=50s, and for a timeout fault, which holds a
// request until the response timeout.
func TestAbandonedHeaderDelayDroppedAtOnce(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{FaultHeaders: true, ResponseTimeout: 50 * time.Second})
	countingBackend(t, tp, "web.1")
	var conns []net.Conn
	for _, h := range []string{"X-Devcluster-Fault: delay=50s\r\n", "X-Devcluster-Fault: timeout\r\n"} {
		conns = append(conns, sendHead(t, tp.Addr, h))
	}
	tstest.WaitFor(t, 10*time.Second, "both held requests to be active", func() bool {
		return statsOf(tp.Proxy, "web.1").Active == 2
	})
	for _, c := range conns {
		c.Close()
	}
	if !tstest.Poll(10*time.Second, func() bool { return statsOf(tp.Proxy, "web.1").Active == 0 }) {
		t.Fatalf("10 s after their clients left, %d held requests were still active", statsOf(tp.Proxy, "web.1").Active)
	}
}

// TestFaultClearReleasesHeldRequests: `fault clear` did not release the
// requests a delay was holding; they waited out the whole delay. Clearing it
// sends them on to the instance at once.
func TestFaultClearReleasesHeldRequests(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	countingBackend(t, tp, "web.1")
	if err := tp.SetFault("web.1", Fault{Kind: FaultDelay, Delay: 50 * time.Second}); err != nil {
		t.Fatal(err)
	}
	conn := sendHead(t, tp.Addr, "")
	defer conn.Close()
	tstest.WaitFor(t, 10*time.Second, "the delayed request to be active", func() bool {
		return statsOf(tp.Proxy, "web.1").Active == 1
	})
	tp.ClearFault("web.1", FaultDelay)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within 10 s of clearing the 50 s delay: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "web.1") {
		t.Errorf("got %d %q, want 200 from web.1", resp.StatusCode, body)
	}
}

// TestDrainDoesNotWaitOnAbandonedDelayedRequests: a reload's drain waited on
// delayed requests whose clients had long gone.
func TestDrainDoesNotWaitOnAbandonedDelayedRequests(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	countingBackend(t, tp, "web.1")
	if err := tp.SetFault("web.1", Fault{Kind: FaultDelay, Delay: 50 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 5 {
		conns = append(conns, sendHead(t, tp.Addr, ""))
	}
	tstest.WaitFor(t, 10*time.Second, "the 5 delayed requests to be active", func() bool {
		return statsOf(tp.Proxy, "web.1").Active == 5
	})
	for _, c := range conns {
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := tp.Drain(ctx, "web.1"); err != nil {
		t.Fatalf("drain with 5 abandoned delayed requests: %v (active %d)", err, statsOf(tp.Proxy, "web.1").Active)
	}
}
