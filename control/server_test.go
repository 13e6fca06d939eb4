package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	goleak.VerifyTestMain(m)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func() error
		wantCall string
	}{
		{"restart targets", func() error { return s.client.Restart(ctx, []string{"web", "worker.1"}) }, "restart [web worker.1]"},
		{"restart all", func() error { return s.client.Restart(ctx, nil) }, "restart []"},
		{"stop", func() error { return s.client.Stop(ctx, []string{"web.2"}) }, "stop [web.2]"},
		{"start", func() error { return s.client.Start(ctx, []string{"web.2", "web.3"}) }, "start [web.2 web.3]"},
		{"scale up", func() error { return s.client.Scale(ctx, "web", 5) }, "scale web 5"},
		{"scale to zero", func() error { return s.client.Scale(ctx, "worker", 0) }, "scale worker 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.fake.Calls())
			if err := tt.call(); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			calls := s.fake.Calls()
			if len(calls) != before+1 || calls[before] != tt.wantCall {
				t.Errorf("got calls %q, want %q last", calls[before:], tt.wantCall)
			}
		})
	}
}

func TestStatusRoundTrip(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.fake.mu.Lock()
	s.fake.status.Started = t0
	s.fake.status.Instances = []Instance{
		{ID: "web.1", Process: "web", Index: 1, Port: 5000, PID: 101, State: StateReady, Since: t0, Restarts: 2, Requests: 1 << 40, LastExit: "exit status 1", Generation: 3},
		{ID: "web.2", Process: "web", Index: 2, Port: 5001, State: StateStopped, Since: t0, LastExit: "signal: terminated"},
		{ID: "web.3", Process: "web", Index: 3, Port: 5002, PID: 103, State: StateReady, Since: t0, Uptime: time.Hour},
	}
	s.fake.mu.Unlock()

	st, err := s.client.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	want := s.fake.status
	if st.PID != want.PID || st.Dir != want.Dir || st.Manifest != want.Manifest || st.Proxy != want.Proxy || !st.Started.Equal(t0) {
		t.Errorf("got header %+v, want %+v", st, want)
	}
	if len(st.Instances) != 3 {
		t.Fatalf("got %d instances, want 3", len(st.Instances))
	}
	w1 := want.Instances[0]
	g1 := st.Instances[0]
	if g1.ID != w1.ID || g1.Process != w1.Process || g1.Index != w1.Index || g1.Port != w1.Port || g1.PID != w1.PID ||
		g1.State != w1.State || !g1.Since.Equal(w1.Since) || g1.Restarts != w1.Restarts || g1.Requests != w1.Requests ||
		g1.LastExit != w1.LastExit || g1.Generation != w1.Generation {
		t.Errorf("got instance %+v, want %+v", g1, w1)
	}
	if g1.Uptime < time.Since(t0)-time.Minute {
		t.Errorf("got computed uptime %v for a ready instance, want about %v", g1.Uptime, time.Since(t0))
	}
	if got := st.Instances[1].Uptime; got != 0 {
		t.Errorf("got uptime %v for a stopped instance, want 0", got)
	}
	if got := st.Instances[2].Uptime; got != time.Hour {
		t.Errorf("got uptime %v set by the cluster, want %v kept", got, time.Hour)
	}
}

func TestStatusUptimeUsesClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newFake()
	f.status.Instances = []Instance{{ID: "web.1", State: StateReady, Since: t0}}
	srv := NewServer(f)
	srv.Now = func() time.Time { return t0.Add(90 * time.Second) }
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	if got := st.Instances[0].Uptime; got != 90*time.Second {
		t.Errorf("got uptime %v, want 1m30s", got)
	}
	if !strings.Contains(rec.Body.String(), `"uptime_seconds":90`) {
		t.Errorf("got body %s, want it to contain \"uptime_seconds\":90", rec.Body.String())
	}
}

func TestErrorsCarriedThrough(t *testing.T) {
	t.Parallel()
	unknown := `unknown instance "web.9" (instances: web.1, web.2, web.3)`
	tests := []struct {
		name     string
		err      error // returned by the fake
		call     func(*Client) error
		wantCode int
		wantMsg  string
	}{
		{"not found from cluster", Errorf(http.StatusNotFound, "%s", unknown),
			func(c *Client) error { return c.Stop(context.Background(), []string{"web.9"}) }, 404, unknown},
		{"plain error is 500", errors.New("scale web: port 5003 is held by pid 77 (python3 app.py)"),
			func(c *Client) error { return c.Scale(context.Background(), "web", 4) }, 500, "scale web: port 5003 is held by pid 77 (python3 app.py)"},
		{"WithCode keeps message", WithCode(http.StatusConflict, errors.New("web is already restarting")),
			func(c *Client) error { return c.Restart(context.Background(), []string{"web"}) }, 409, "web is already restarting"},
		{"status error", Errorf(http.StatusServiceUnavailable, "cluster is stopping"),
			func(c *Client) error { _, err := c.Status(context.Background()); return err }, 503, "cluster is stopping"},
		{"logs error before the stream", Errorf(http.StatusNotFound, "%s", unknown),
			func(c *Client) error {
				return c.Logs(context.Background(), []string{"web.9"}, 5, false, func(LogLine) error { return nil })
			}, 404, unknown},
		{"start error", Errorf(http.StatusNotFound, "%s", unknown),
			func(c *Client) error { return c.Start(context.Background(), []string{"web.9"}) }, 404, unknown},
		{"down error", errors.New("already stopping"),
			func(c *Client) error { return c.Down(context.Background()) }, 500, "already stopping"},
		{"server validates scale count", nil,
			func(c *Client) error { return c.Scale(context.Background(), "web", -1) }, 400, "scale web: instance count must be 0 or more, got -1"},
		{"server validates stop ids", nil,
			func(c *Client) error { return c.Stop(context.Background(), nil) }, 400, "stop: name at least one instance (e.g. web.2)"},
		{"server validates scale process", nil,
			func(c *Client) error { return c.Scale(context.Background(), "", 2) }, 400, "scale: name a process (e.g. web=3)"},
	}
	s := serveFake(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.fake.mu.Lock()
			s.fake.err = tt.err
			s.fake.mu.Unlock()
			err := tt.call(s.client)
			if err == nil {
				t.Fatalf("got nil error, want %q", tt.wantMsg)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err.Error(), tt.wantMsg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T, want *control.Error", err)
			}
			if ce.Code != tt.wantCode {
				t.Errorf("got code %d, want %d", ce.Code, tt.wantCode)
			}
		})
	}
}

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	s := serveFake(t, "")
	hc := rawClient(t, s.path)
	tests := []struct {
		method, path, body string
		wantCode           int
		wantMsg            string
	}{
		{"GET", "/v2/status", "", 404, "devcluster control: no endpoint /v2/status (this devcluster serves /v1/)"},
		{"POST", "/v1/status", "", 405, "devcluster control: POST /v1/status: use GET"},
		{"GET", "/v1/restart", "", 405, "devcluster control: GET /v1/restart: use POST"},
		{"POST", "/v1/stop", `{"idz":["web.1"]}`, 400, `devcluster control: bad request body for /v1/stop: json: unknown field "idz"`},
		{"POST", "/v1/scale", `not json`, 400, "devcluster control: bad request body for /v1/scale: invalid character 'o' in literal null (expecting 'u')"},
		{"GET", "/v1/logs?n=ten", "", 400, `logs: n must be a number of lines, got "ten"`},
		{"GET", "/v1/logs?follow=yes", "", 400, `logs: follow must be 1 or 0, got "yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://devcluster"+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			defer resp.Body.Close()
			var eb errorBody
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("got body %q, want JSON {error}: %v", b, err)
			}
			if resp.StatusCode != tt.wantCode || eb.Error != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, eb.Error, tt.wantCode, tt.wantMsg)
			}
		})
	}
}
