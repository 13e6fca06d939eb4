package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds every request of the load. It is below the proxy's response
// timeout (60 s), so a request that hangs is counted as a transport error here rather
// than waited for; no pause (at most 5 s) comes near it.
const requestTimeout = 20 * time.Second

// maxPerClient bounds each client's loop by count as well as by time.
const maxPerClient = 2_000_000

// record is one request that did not succeed cleanly: a transport error (status 0), a
// non-2xx response, or a 2xx whose body is not from the instance its header names.
type record struct {
	start, end time.Time
	status     int
	instance   string // X-Devcluster-Instance
	err        string // transport error, or why the body is wrong
	body       string // the start of a non-2xx body
	reused     bool   // sent on a reused keep-alive connection to the proxy
	cut        bool   // the head came (and is not counted as a status), the body did not
}

// load is the client side of the soak: keep-alive clients looping on one URL.
type load struct {
	url      string
	tr       *http.Transport
	client   *http.Client
	halt     atomic.Bool // set by stop: finish the request in flight, send no more
	sent     atomic.Int64
	inFlight atomic.Int64
	begin    time.Time
	wg       sync.WaitGroup
	results  []*clientResult
}

type clientResult struct {
	latencies []time.Duration
	ok        int64
	failures  []record
}

type loadResult struct {
	begin     time.Time
	elapsed   time.Duration
	sent, ok  int64
	latencies []time.Duration
	failures  []record
}

// startLoad starts n clients that share one transport keeping n idle connections to the
// proxy (Go's default of 2 per host would open and close connections all the time).
// Each stops after maxTime at the latest.
func startLoad(ctx context.Context, url string, n int, maxTime time.Duration) *load {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * n,
		MaxIdleConnsPerHost: n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	l := &load{url: url, tr: tr, client: &http.Client{Transport: tr, Timeout: requestTimeout}, begin: time.Now()}
	deadline := l.begin.Add(maxTime)
	for range n {
		r := &clientResult{}
		l.results = append(l.results, r)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; i < maxPerClient && !l.halt.Load() && ctx.Err() == nil && time.Now().Before(deadline); i++ {
				l.one(ctx, r)
			}
		}()
	}
	return l
}

// one sends one request and records its outcome. A request cut short by ctx (the soak
// was aborted) is not counted at all.
func (l *load) one(ctx context.Context, r *clientResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		panic(err) // a constant, valid URL
	}
	// Whether the client reused a keep-alive connection tells a proxy that closed an
	// idle connection under the client apart from one that cut a fresh one.
	var reused bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	l.sent.Add(1)
	l.inFlight.Add(1)
	start := time.Now()
	resp, err := l.client.Do(req)
	var body []byte
	var bodyErr error
	if err == nil {
		body, bodyErr = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	end := time.Now()
	l.inFlight.Add(-1)
	if ctx.Err() != nil {
		l.sent.Add(-1)
		return
	}
	r.latencies = append(r.latencies, end.Sub(start))
	rec := record{start: start, end: end, reused: reused}
	switch {
	case err != nil:
		rec.err = err.Error()
		r.failures = append(r.failures, rec)
		return
	case bodyErr != nil:
		// The head came, the body did not: a transport error, but one that names
		// the instance (and status) the proxy was relaying.
		rec.instance = resp.Header.Get("X-Devcluster-Instance")
		rec.cut = true
		rec.err = fmt.Sprintf("%s from %q, then reading the body: %v", resp.Status, rec.instance, bodyErr)
		r.failures = append(r.failures, rec)
		return
	}
	rec.status = resp.StatusCode
	rec.instance = resp.Header.Get("X-Devcluster-Instance")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		rec.body = firstLine(string(body))
		r.failures = append(r.failures, rec)
		return
	}
	if why := wrongBody(rec.instance, string(body)); why != "" {
		rec.err = why
		r.failures = append(r.failures, rec)
		return
	}
	r.ok++
}

// wrongBody checks that a 2xx came from the instance the proxy names: the example app
// says "Hello from web.2 (pid …". A mismatch would mean responses crossed connections.
func wrongBody(instance, body string) string {
	if instance == "" {
		return "2xx without X-Devcluster-Instance"
	}
	if !strings.HasPrefix(body, "Hello from "+instance+" ") {
		return fmt.Sprintf("X-Devcluster-Instance %s but the body says %q", instance, firstLine(body))
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// stop lets every client finish the request it has in flight (each is bounded by
// requestTimeout) and merges their results.
func (l *load) stop() loadResult {
	l.halt.Store(true)
	l.wg.Wait()
	l.tr.CloseIdleConnections()
	res := loadResult{begin: l.begin, elapsed: time.Since(l.begin), sent: l.sent.Load()}
	for _, r := range l.results {
		res.ok += r.ok
		res.latencies = append(res.latencies, r.latencies...)
		res.failures = append(res.failures, r.failures...)
	}
	return res
}

// directClient asks instances on their own ports (for reload checks), without keeping
// connections: Flask closes them anyway.
var directClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// get returns the body of a 2xx answer to GET url, and its X-Devcluster-Instance.
func get(ctx context.Context, url string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := directClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(body), resp.Header.Get("X-Devcluster-Instance"), err
}
