package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/tstest"
)

// scriptedBackend is a loopback instance that counts the requests it reads and
// answers each as act says: "crash" closes the connection without a byte (as
// os._exit does, while the process lives on), "die" closes the listener too (the
// process is gone), "garbage" answers bytes that are no HTTP, "hang" never
// answers, "503" answers 503, anything else 200 with the instance's name.
type scriptedBackend struct {
	addr string
	hits atomic.Int64
}

func startScripted(t *testing.T, name string, act func(path string) string) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb := &scriptedBackend{addr: ln.Addr().String()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); ln.Close(); wg.Wait() })
	serve := func(c net.Conn) {
		defer wg.Done()
		defer c.Close()
		go func() { <-stop; c.Close() }()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			sb.hits.Add(1)
			switch act(req.URL.Path) {
			case "crash":
				return
			case "die":
				ln.Close()
				return
			case "garbage":
				io.WriteString(c, "this is not HTTP\r\n\r\n")
				return
			case "hang":
				<-stop
				return
			case "503":
				io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(name))+"\r\n\r\n"+name)
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go serve(c)
		}
	}()
	return sb
}

// TestCrashingRequestNotReplayed is the query of death: GET /crash closes its
// instance's connection without an answer (the app called os._exit). It reached
// the app, so it must not be replayed on the others: one instance gets it, the
// client gets 502. It used to crash every instance in turn.
func TestCrashingRequestNotReplayed(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var bs []*scriptedBackend
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		b := startScripted(t, id, func(string) string { return "crash" })
		tp.Enable(id, b.addr)
		bs = append(bs, b)
	}
	code, _, body := get(t, newClient(t), tp.URL+"/crash")
	if code != http.StatusBadGateway {
		t.Errorf("got %d %q, want 502", code, body)
	}
	total := int64(0)
	for _, b := range bs {
		total += b.hits.Load()
	}
	if total != 1 {
		t.Errorf("the instances received GET /crash %d times, want once", total)
	}
}

// TestCrashingRequestOnKeepAliveReplayedOnce is the query of death on reused
// keep-alive connections: a failure before any response byte there looks like
// an idle connection the instance had closed (or an instance killed under
// load), which is retried elsewhere, but only once: the request reaches two
// instances at most, then the client gets 502. It used to reach every one.
func TestCrashingRequestOnKeepAliveReplayedOnce(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var bs []*scriptedBackend
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		b := startScripted(t, id, func(path string) string {
			if path == "/crash" {
				return "die"
			}
			return ""
		})
		tp.Enable(id, b.addr)
		bs = append(bs, b)
	}
	cl := newClient(t)
	countInstances(t, cl, tp.URL+"/", 6) // a keep-alive connection to each instance
	code, _, body := get(t, cl, tp.URL+"/crash")
	if code != http.StatusBadGateway {
		t.Errorf("got %d %q, want 502", code, body)
	}
	total := int64(0)
	for _, b := range bs {
		total += b.hits.Load()
	}
	if total != 8 {
		t.Errorf("the instances received GET /crash %d times, want twice (the keep-alive retry)", total-6)
	}
}

// TestGarbageAnswerNotReplayed: an instance that answers bytes that are no HTTP
// received the request; it gets it once, not once per retry.
func TestGarbageAnswerNotReplayed(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	b := startScripted(t, "web.1", func(string) string { return "garbage" })
	tp.Enable("web.1", b.addr)
	if code, _, body := get(t, newClient(t), tp.URL+"/"); code != http.StatusBadGateway {
		t.Errorf("got %d %q, want 502", code, body)
	}
	if n := b.hits.Load(); n != 1 {
		t.Errorf("the instance received the GET %d times, want once", n)
	}
}

// TestStaleKeepAliveRetried: a keep-alive connection the instance closed while
// it sat idle (before the liveness probe would look) fails before any response
// byte: the request never reached the app and is sent again on a new connection.
func TestStaleKeepAliveRetried(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var served, closed atomic.Int64
	tp.Enable("web.1", closingServerWith(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", func(c net.Conn) {
		served.Add(1)
		c.Close() // as an idle timeout would, right after the response
		closed.Add(1)
	}))
	c, err := net.Dial("tcp", tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 2 {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: got %d, want 200", i+1, resp.StatusCode)
		}
		// The instance has closed the idle connection; the proxy, which probes
		// only connections idle for longer (staleAfter), has not noticed.
		tstest.WaitFor(t, 5*time.Second, "the instance to close", func() bool { return closed.Load() == int64(i+1) })
	}
	if n := served.Load(); n != 2 {
		t.Errorf("the instance answered %d requests, want 2", n)
	}
}

func TestRetryOn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		retryOn []string
		act     string // what web.1 does; web.2 answers 200
		want    int
		hits1   int64 // requests web.1 receives
	}{
		{"default: a crash is not replayed", nil, "crash", 502, 1},
		{"empty-response replays a crash", []string{"conn-failure", "empty-response"}, "crash", 200, 1},
		{"default: a timeout is answered 504", nil, "hang", 504, 1},
		{"response-timeout replays a timeout", []string{"response-timeout"}, "hang", 200, 1},
		{"default: a 503 is passed on", nil, "503", 503, 1},
		{"503 replays a 503", []string{"503"}, "503", 200, 1},
		{"garbage is never replayed", []string{"conn-failure", "empty-response", "response-timeout", "503"}, "garbage", 502, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := startProxy(t, Config{RetryOn: tt.retryOn, ResponseTimeout: 200 * time.Millisecond, Strategy: "first"})
			b1 := startScripted(t, "web.1", func(string) string { return tt.act })
			b2 := startScripted(t, "web.2", func(string) string { return "" })
			tp.Enable("web.1", b1.addr)
			tp.Enable("web.2", b2.addr)
			code, id, body := get(t, newClient(t), tp.URL+"/")
			if code != tt.want {
				t.Errorf("got %d from %s %q, want %d", code, id, body, tt.want)
			}
			if n := b1.hits.Load(); n != tt.hits1 {
				t.Errorf("web.1 received %d requests, want %d", n, tt.hits1)
			}
		})
	}
}

func TestRetryOnUnknownValue(t *testing.T) {
	t.Parallel()
	_, err := New(Config{RetryOn: []string{"conn-failure", "timeout"}})
	want := `proxy: retry_on: unknown value "timeout" (want conn-failure, empty-response, response-timeout, 503 or none)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestRetryOnNoneAlone: "none" beside other values was skipped silently, where the
// manifest refuses it; both now say the same.
func TestRetryOnNoneAlone(t *testing.T) {
	t.Parallel()
	if _, err := parseRetryOn([]string{"none", "503"}); err == nil || !strings.Contains(err.Error(), "none cannot be listed with other values") {
		t.Errorf("got %v, want an error saying none stands alone", err)
	}
	if set, err := parseRetryOn([]string{"none"}); err != nil || set != 0 {
		t.Errorf("got %v, %v; want no retries and no error", set, err)
	}
}

// TestRetryOnNamesMatchManifest: the values the proxy knows are the ones procfile
// accepts (internal/defaults), in the same order.
func TestRetryOnNamesMatchManifest(t *testing.T) {
	t.Parallel()
	var got []string
	for _, n := range retryOnNames {
		got = append(got, n.name)
	}
	got = append(got, "none")
	if want := defaults.RetryOnValues(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if want := defaults.RetryOn(); len(want) != 1 || want[0] != retryOnNames[0].name {
		t.Errorf("got default %v, want [%s]", want, retryOnNames[0].name)
	}
}
