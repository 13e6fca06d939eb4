package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
)

// probeCluster starts one loopback server per handler and describes them as
// ready instances web.1, web.2, ...
func probeCluster(t *testing.T, handlers ...http.HandlerFunc) control.Status {
	t.Helper()
	var st control.Status
	for i, h := range handlers {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		var p int
		fmt.Sscan(port, &p)
		st.Instances = append(st.Instances, control.Instance{ID: fmt.Sprintf("web.%d", i+1), Process: "web",
			Index: i + 1, Port: p, State: control.StateReady})
	}
	return st
}

func answer(status int, ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestProbeComparesJSONFieldByField(t *testing.T) {
	t.Parallel()
	st := probeCluster(t,
		answer(200, "application/json", `{"count": 3, "meta": {"pid": 11, "app": "x"}, "tags": ["a", "b"]}`),
		answer(200, "application/json", `{"count": 1, "meta": {"pid": 12, "app": "x"}, "tags": ["a", "c"]}`),
		answer(200, "application/json", `{"count": 1, "meta": {"pid": 13, "app": "x"}, "tags": ["a", "b"], "extra": null}`))
	tests := []struct {
		ignore []string
		differ []string
	}{
		{nil, []string{"count", "extra", "meta.pid", "tags.1"}},
		{[]string{"count", "meta.pid"}, []string{"extra", "tags.1"}},
		{[]string{"count", "meta", "tags", "extra"}, nil},
		{[]string{"cou", "meta.p"}, []string{"count", "extra", "meta.pid", "tags.1"}}, // not prefixes of a name
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.ignore, ","), func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), st, "/counter", http.Header{}, tt.ignore, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Differ, tt.differ) && !(len(res.Differ) == 0 && len(tt.differ) == 0) {
				t.Errorf("differ: got %v, want %v", res.Differ, tt.differ)
			}
			if res.Agree != (len(tt.differ) == 0) {
				t.Errorf("agree: got %v with differences %v", res.Agree, res.Differ)
			}
		})
	}
}

// TestProbeTextBodiesDiffer: bodies that are not JSON are compared whole.
func TestProbeTextBodiesDiffer(t *testing.T) {
	t.Parallel()
	st := probeCluster(t,
		answer(200, "text/plain", "hello\nserved by web.1\nbye\n"),
		answer(200, "text/plain", "hello\nserved by web.2\nbye\n"),
		answer(200, "text/plain", "hello\nserved by web.1\nbye\n"))
	res, err := Run(context.Background(), st, "/", http.Header{}, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agree || !slices.Equal(res.Differ, []string{"body"}) {
		t.Fatalf("got agree=%v differ=%v, want the bodies to differ", res.Agree, res.Differ)
	}
	if res.Instances[1].Body != "hello\nserved by web.2\nbye\n" || res.Instances[1].Fields != nil {
		t.Errorf("web.2: got body %q, fields %v; want its text, no fields", res.Instances[1].Body, res.Instances[1].Fields)
	}
}

func TestProbeStatusAndErrorsDisagree(t *testing.T) {
	t.Parallel()
	ok := answer(200, "text/plain", "same")
	st := probeCluster(t, ok, answer(500, "text/plain", "same"))
	res, err := Run(context.Background(), st, "/", http.Header{}, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Differ, []string{"status"}) {
		t.Errorf("a 500 beside a 200: got differ %v, want [status]", res.Differ)
	}

	st = probeCluster(t, ok, ok)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	st.Instances[1].Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	res, err = Run(context.Background(), st, "/", http.Header{}, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agree || !slices.Equal(res.Differ, []string{"error"}) || !strings.Contains(res.Instances[1].Error, "refused") {
		t.Errorf("an instance that refuses: got differ %v, error %q", res.Differ, res.Instances[1].Error)
	}
}

func TestProbeOnlyReadyInstancesAndHeaders(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"x": %q, "host": %q}`, r.Header.Get("X-Probe"), r.Host)
	}
	st := probeCluster(t, echo, echo, echo)
	st.Instances[2].State = control.StateStarting
	hdr := http.Header{"X-Probe": {"hello"}, "Host": {"shop.test"}} // as cmd's parseProbeHeaders makes it
	res, err := Run(context.Background(), st, "/", hdr, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Instances) != 2 || !res.Agree {
		t.Fatalf("got %d answers, agree=%v (%v), want 2 agreeing", len(res.Instances), res.Agree, res.Differ)
	}
	if got := res.Instances[0].Fields; got["x"] != `"hello"` || got["host"] != `"shop.test"` {
		t.Errorf("headers as the instance saw them: got %v", got)
	}

	for _, in := range st.Instances {
		in.State = control.StateDown
	}
	st.Instances = []control.Instance{{ID: "web.1", Port: 1, State: control.StateDown}}
	if _, err := Run(context.Background(), st, "/", hdr, nil, time.Second); err == nil ||
		err.Error() != "no ready instance with a port to probe (web.1 down)" {
		t.Errorf("no ready instance: got %v", err)
	}
}

func TestProbeScalarJSONBodies(t *testing.T) {
	t.Parallel()
	st := probeCluster(t, answer(200, "application/json", `1`), answer(200, "application/json", `{}`))
	res, err := Run(context.Background(), st, "/n", http.Header{}, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Differ, []string{"(body)"}) {
		t.Errorf("got differ %v, want [(body)]", res.Differ)
	}
}

// TestProbeSkipsInstancesTheProxyDoesNotBalance is the regression test for probe
// asking the redis-server of scenario 2's manifest for GET /whoami (it answered
// nothing, so the instances always "disagreed"): with balanced instances in the
// cluster, probe compares only those.
func TestProbeSkipsInstancesTheProxyDoesNotBalance(t *testing.T) {
	t.Parallel()
	st := probeCluster(t, answer(200, "application/json", `{"user": "alice"}`),
		answer(200, "application/json", `{"user": "alice"}`))
	for i := range st.Instances {
		st.Instances[i].Balancer = &control.Balancer{State: control.BalancerUp}
	}
	// A TCP server that closes every connection, as Redis does with an HTTP request.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	st.Instances = append(st.Instances, control.Instance{ID: "redis.1", Process: "redis", Index: 1,
		Port: ln.Addr().(*net.TCPAddr).Port, State: control.StateReady})
	res, err := Run(context.Background(), st, "/whoami", http.Header{}, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range res.Instances {
		ids = append(ids, a.ID)
	}
	if got, want := strings.Join(ids, " "), "web.1 web.2"; got != want {
		t.Errorf("probed %s, want %s", got, want)
	}
	if !res.Agree {
		t.Errorf("the instances disagree on %v, want them to agree", res.Differ)
	}
}
