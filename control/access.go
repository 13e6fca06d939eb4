package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"time"
)

// Request is one request the proxy served, as the access log shows it: a line
// of the NDJSON stream of GET /v1/access. Its fields are proxy.RequestInfo's
// (control imports no other devcluster package, so cmd copies them over).
//
// In JSON, durations are seconds as numbers (duration_seconds,
// upstream_seconds), as elsewhere in this API.
type Request struct {
	Time     time.Time     `json:"time"`     // when the response ended
	Instance string        `json:"instance"` // who answered ("web.2"); "" if none was chosen
	Process  string        `json:"process"`  // the pool's process ("web")
	Method   string        `json:"method"`
	Path     string        `json:"path"`   // path and query as the client sent them
	Status   int           `json:"status"` // as sent to the client; 0 when none was
	Duration time.Duration `json:"-"`      // from the request head to the end of the response
	Upstream time.Duration `json:"-"`      // from sending the request to its response head, last attempt
	// RequestID is the X-Request-Id the instance got and the client got back.
	RequestID string `json:"request_id"`
	// Decision is what the balancer did beyond the usual: "sticky",
	// "retried from web.1: refused", "fault: delay 300ms"; "" if nothing.
	Decision   string `json:"decision"`
	ErrorClass string `json:"error_class"` // "connect", "timeout", "reset" or ""
	BytesIn    int64  `json:"bytes_in"`
	BytesOut   int64  `json:"bytes_out"`
	Retries    int    `json:"retries"` // attempts after the first
}

// AccessLogger is what a Cluster implements to serve GET /v1/access; the
// Server answers 501 for one that does not (Cluster stays as it was for the
// implementations that predate the access log).
type AccessLogger interface {
	// AccessLog calls out with every request the proxy ends from now on,
	// until ctx is done (then it returns ctx.Err()) or out fails.
	AccessLog(ctx context.Context, out func(Request) error) error
}

// requestFields has Request's fields without its methods, for the JSON
// methods below.
type requestFields Request

// MarshalJSON adds "duration_seconds" and "upstream_seconds".
func (r Request) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		requestFields
		DurationSeconds float64 `json:"duration_seconds"`
		UpstreamSeconds float64 `json:"upstream_seconds"`
	}{requestFields(r), r.Duration.Seconds(), r.Upstream.Seconds()})
}

// UnmarshalJSON reads the seconds back into Duration and Upstream.
func (r *Request) UnmarshalJSON(b []byte) error {
	v := struct {
		*requestFields
		DurationSeconds float64 `json:"duration_seconds"`
		UpstreamSeconds float64 `json:"upstream_seconds"`
	}{requestFields: (*requestFields)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Duration = time.Duration(math.Round(v.DurationSeconds * float64(time.Second)))
	r.Upstream = time.Duration(math.Round(v.UpstreamSeconds * float64(time.Second)))
	return nil
}

// access serves GET /v1/access: a follow-only NDJSON stream of Requests,
// written as the logs stream is (flushed per line, ended by a final
// {"error": ...} line when the cluster fails it).
func (s *Server) access(w http.ResponseWriter, r *http.Request) error {
	al, ok := s.cluster.(AccessLogger)
	if !ok {
		return Errorf(http.StatusNotImplemented, "access log: this devcluster does not serve it; upgrade devcluster")
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ls := newLogStream(ctx, w, true, cancel)
	defer ls.stopWrites()
	// Headers go out at once: a quiet cluster may send no request for long,
	// and the follower should know it is connected.
	ls.mu.Lock()
	ls.begin()
	err := ls.rc.Flush()
	ls.mu.Unlock()
	if err != nil {
		return ls.end(nil)
	}
	return ls.end(al.AccessLog(ctx, func(req Request) error { return ls.write(req) }))
}

// AccessLog calls fn with every request the cluster's proxy ends from now on,
// until ctx is done (it returns ctx.Err()), the cluster stops (nil), or fn
// fails (fn's error).
func (c *Client) AccessLog(ctx context.Context, fn func(Request) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/v1/access", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.lost(err)
		}
		var eb errorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error != "" {
			return &Error{Code: http.StatusInternalServerError, Msg: eb.Error}
		}
		var req Request
		if err := json.Unmarshal(raw, &req); err != nil {
			return c.lost(err)
		}
		if err := fn(req); err != nil {
			return err
		}
	}
}
