package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// dialTimeout bounds Dial's connection attempt; a local socket answers in
// microseconds or not at all.
const dialTimeout = 2 * time.Second

// downPoll is how often Down looks whether the cluster has gone.
const downPoll = 50 * time.Millisecond

// Client talks to the cluster serving a control socket. Its methods mirror
// Cluster. It sets no timeout of its own: a rolling restart can take minutes,
// so ctx alone decides how long to wait (cancelling it also cancels the
// operation in the cluster).
type Client struct {
	path string
	dir  string // project directory, for messages
	hc   *http.Client
}

// Dial connects to the control socket at path (see SocketPath). When nothing
// serves it, the error is a *NotRunningError (errors.Is ErrNotRunning) saying
// so, e.g. `no devcluster is running in DIR (no .devcluster/control.sock);
// start one with "devcluster up"`. Close the client when done.
func Dial(path string) (*Client, error) {
	c := newClient(path)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	conn, err := dialUnixAddr(ctx, path)
	if err != nil {
		if nr := notRunning(path, err); nr != nil {
			return nil, nr
		}
		return nil, fmt.Errorf("connect to devcluster in %s: %w", c.dir, err)
	}
	conn.Close()
	return c, nil
}

func newClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialUnixAddr(ctx, path)
		},
		MaxIdleConns:        2,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Client{path: path, dir: projectOf(path), hc: &http.Client{Transport: tr}}
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Status returns the cluster's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Restart restarts processes or instances one at a time; no targets: all.
func (c *Client) Restart(ctx context.Context, targets []string) error {
	return c.call(ctx, http.MethodPost, "/v1/restart", restartRequest{Targets: targets}, nil)
}

// Stop drains and stops instances; they stay stopped.
func (c *Client) Stop(ctx context.Context, ids []string) error {
	return c.call(ctx, http.MethodPost, "/v1/stop", idsRequest{IDs: ids}, nil)
}

// Start brings stopped instances back.
func (c *Client) Start(ctx context.Context, ids []string) error {
	return c.call(ctx, http.MethodPost, "/v1/start", idsRequest{IDs: ids}, nil)
}

// Scale sets process's instance count to n.
func (c *Client) Scale(ctx context.Context, process string, n int) error {
	return c.call(ctx, http.MethodPost, "/v1/scale", scaleRequest{Process: process, N: n}, nil)
}

// Down asks the cluster to stop as Ctrl-C would, then waits until it has let
// go of its socket (or ctx is done).
func (c *Client) Down(ctx context.Context) error {
	if err := c.call(ctx, http.MethodPost, "/v1/down", struct{}{}, nil); err != nil {
		var ce *Error
		if errors.As(err, &ce) || errors.Is(err, ErrNotRunning) || ctx.Err() != nil {
			return err
		}
		// The connection broke: a cluster stopping fast may close it before
		// answering. Whether it is going away is what the wait below tells.
	}
	c.hc.CloseIdleConnections()
	t := time.NewTicker(downPoll)
	defer t.Stop()
	for {
		conn, err := dialUnixAddr(ctx, c.path)
		if err != nil {
			if notRunning(c.path, err) != nil {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("wait for devcluster in %s to stop: %w", c.dir, ctx.Err())
			}
		} else {
			conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for devcluster in %s to stop: %w", c.dir, ctx.Err())
		case <-t.C:
		}
	}
}

// Logs calls fn with the last n lines of the given instances (all when ids is
// empty; n < 0: everything buffered; n == 0: none), oldest first, and then, if
// follow, with every new line. It returns nil when the stream ends (at once
// without follow; when the cluster stops with it), ctx.Err() when ctx ends it,
// and fn's error if fn returns one.
func (c *Client) Logs(ctx context.Context, ids []string, n int, follow bool, fn func(LogLine) error) error {
	q := url.Values{}
	if len(ids) > 0 {
		q.Set("ids", strings.Join(ids, ","))
	}
	q.Set("n", strconv.Itoa(n))
	if follow {
		q.Set("follow", "1")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var f logFrame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.lost(err)
		}
		if f.Error != "" {
			return &Error{Code: http.StatusInternalServerError, Msg: f.Error}
		}
		if err := fn(f.LogLine); err != nil {
			return err
		}
	}
}

// call sends body as JSON (none if nil) and decodes a success answer into out
// (ignored if nil).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read devcluster's answer to %s: %w", path, err)
	}
	return nil
}

// do sends a request and turns every failure into the error users see: the
// server's message (*Error), a *NotRunningError, or a lost connection.
func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request to %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	// The host is never used: the transport dials the socket.
	req, err := http.NewRequestWithContext(ctx, method, "http://devcluster"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if nr := notRunning(c.path, err); nr != nil {
			return nil, nr
		}
		return nil, c.lost(err)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		return nil, &Error{Code: resp.StatusCode, Msg: eb.Error}
	}
	return nil, &Error{Code: resp.StatusCode, Msg: fmt.Sprintf("devcluster in %s answered %s: %s", c.dir, resp.Status, strings.TrimSpace(string(b)))}
}

func (c *Client) lost(err error) error {
	return fmt.Errorf("lost connection to devcluster in %s: %w", c.dir, err)
}
