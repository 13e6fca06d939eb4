package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves a Cluster over HTTP/1.1 + JSON. Endpoints:
//
//	GET  /v1/status                       → Status
//	POST /v1/restart {"targets": [...]}   → {}   (no targets: every process)
//	POST /v1/stop    {"ids": [...]}       → {}
//	POST /v1/start   {"ids": [...]}       → {}
//	POST /v1/scale   {"process": "web", "n": 5} → {}
//	GET  /v1/logs?ids=web.1,web.2&n=50&follow=1 → NDJSON, one LogLine a line
//	GET  /v1/access                       → NDJSON, one Request a line, followed (access.go)
//	POST /v1/down                         → 202 {}
//	POST /v1/fault   Fault                → {"fault": Fault or null}
//	GET  /v1/faults                       → {"faults": [Fault...]}
//	POST /v1/faults/clear {"instance": "web.2"} → {"cleared": [Fault...]} ("" clears all)
//
// Errors are {"error": "message"} with a 4xx/5xx status. A logs stream that
// fails after its first line ends with a line {"error": "message"}.
// Requests from a uid other than the server's are refused with 403.
type Server struct {
	cluster Cluster

	// Now is the clock for uptimes the Cluster leaves zero; nil means time.Now.
	Now func() time.Time
	// ErrorLog receives the HTTP server's own errors; nil discards them.
	ErrorLog *log.Logger

	uid      int
	handlers sync.WaitGroup
	// followers counts the logs -f streams being served (Status.Followers).
	followers atomic.Int64
}

// NewServer returns a server for c; it starts nothing.
func NewServer(c Cluster) *Server {
	return &Server{cluster: c, uid: os.Getuid()}
}

// maxBody bounds request bodies; real ones are a few hundred bytes.
const maxBody = 1 << 20

// finalWriteTimeout bounds the last write of a logs stream to a slow client.
const finalWriteTimeout = 5 * time.Second

var errNotUnix = errors.New("not a unix socket connection")

type peerKey struct{}

// peer is what the server learnt about a connection's other end.
type peer struct {
	uid int
	err error
}

// Serve answers requests on ln until ctx is done, then stops accepting,
// cancels the contexts of running requests (so log followers and long
// operations end), and returns once every handler has returned. It closes ln,
// which for a listener from Listen removes the socket: a `devcluster down`
// client waits for that, so cmd should end Serve last, after the processes are
// reaped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errLog := s.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errLog,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, err := peerUID(c)
			return context.WithValue(ctx, peerKey{}, peer{uid: uid, err: err})
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		served <- err // for the receive below
		err = fmt.Errorf("serve control socket: %w", err)
	}
	cancel()
	// Shutdown closes the listener and idle connections and waits for active
	// ones to go idle; cancelled handlers get there promptly.
	if serr := srv.Shutdown(context.Background()); serr != nil && err == nil {
		err = fmt.Errorf("stop control server: %w", serr)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve control socket: %w", serr)
	}
	s.handlers.Wait()
	return err
}

// ServeHTTP routes a request; exported so that Server is an http.Handler for
// tests and for embedding.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()

	if p, ok := r.Context().Value(peerKey{}).(peer); ok {
		switch {
		case p.err == nil && p.uid != s.uid:
			writeError(w, Errorf(http.StatusForbidden, "devcluster control: uid %d may not control a cluster run by uid %d", p.uid, s.uid))
			return
		case p.err != nil && !errors.Is(p.err, errors.ErrUnsupported):
			writeError(w, Errorf(http.StatusForbidden, "devcluster control: cannot verify the caller: %v", p.err))
			return
		}
	}

	type route struct {
		method string
		h      func(http.ResponseWriter, *http.Request) error
	}
	routes := map[string]route{
		"/v1/status":  {http.MethodGet, s.status},
		"/v1/restart": {http.MethodPost, s.restart},
		"/v1/stop":    {http.MethodPost, s.stop},
		"/v1/start":   {http.MethodPost, s.start},
		"/v1/scale":   {http.MethodPost, s.scale},
		"/v1/logs":    {http.MethodGet, s.logs},
		"/v1/down":    {http.MethodPost, s.down},
		"/v1/access":  {http.MethodGet, s.access},
		// faults.go
		"/v1/fault":        {http.MethodPost, s.setFault},
		"/v1/faults":       {http.MethodGet, s.listFaults},
		"/v1/faults/clear": {http.MethodPost, s.clearFaults},
	}
	rt, ok := routes[r.URL.Path]
	switch {
	case !ok:
		writeError(w, Errorf(http.StatusNotFound, "devcluster control: no endpoint %s (this devcluster serves /v1/)", r.URL.Path))
		return
	case r.Method != rt.method:
		w.Header().Set("Allow", rt.method)
		writeError(w, Errorf(http.StatusMethodNotAllowed, "devcluster control: %s %s: use %s", r.Method, r.URL.Path, rt.method))
		return
	}
	if err := rt.h(w, r); err != nil {
		writeError(w, err)
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.cluster.Status(r.Context())
	if err != nil {
		return err
	}
	st.Followers = int(s.followers.Load())
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	for i := range st.Instances {
		in := &st.Instances[i]
		if in.Uptime == 0 && live(in.State) && !in.Since.IsZero() && t.After(in.Since) {
			in.Uptime = t.Sub(in.Since)
		}
	}
	if st.Instances == nil {
		st.Instances = []Instance{} // [] rather than null for scripts
	}
	st.Faults = nonNilFaults(st.Faults)
	writeJSON(w, http.StatusOK, st)
	return nil
}

// Request bodies.
type (
	restartRequest struct {
		Targets []string `json:"targets"`
	}
	idsRequest struct {
		IDs []string `json:"ids"`
	}
	scaleRequest struct {
		Process string `json:"process"`
		N       int    `json:"n"`
	}
)

func (s *Server) restart(w http.ResponseWriter, r *http.Request) error {
	var req restartRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := s.cluster.Restart(r.Context(), req.Targets); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) error {
	var req idsRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if len(req.IDs) == 0 {
		return Errorf(http.StatusBadRequest, "stop: name at least one instance (e.g. web.2)")
	}
	if err := s.cluster.Stop(r.Context(), req.IDs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) error {
	var req idsRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if len(req.IDs) == 0 {
		return Errorf(http.StatusBadRequest, "start: name at least one instance (e.g. web.2)")
	}
	if err := s.cluster.Start(r.Context(), req.IDs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request) error {
	var req scaleRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	switch {
	case req.Process == "":
		return Errorf(http.StatusBadRequest, "scale: name a process (e.g. web=3)")
	case req.N < 0:
		return Errorf(http.StatusBadRequest, "scale %s: instance count must be 0 or more, got %d", req.Process, req.N)
	}
	if err := s.cluster.Scale(r.Context(), req.Process, req.N); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) down(w http.ResponseWriter, r *http.Request) error {
	if err := s.cluster.Down(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}

// logFrame is a line of the logs stream: a LogLine, or a final error.
type logFrame struct {
	LogLine
	Error string `json:"error,omitempty"`
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) error {
	ids, n, follow, err := logsQuery(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ls := newLogStream(ctx, w, follow, cancel)
	defer ls.stopWrites()
	if follow {
		s.followers.Add(1)
		defer s.followers.Add(-1)
	}
	return ls.end(s.cluster.Logs(ctx, ids, n, follow, ls.out))
}

// logsQuery reads GET /v1/logs?ids=web.1,web.2&n=50&follow=1.
func logsQuery(r *http.Request) (ids []string, n int, follow bool, err error) {
	q := r.URL.Query()
	for _, v := range q["ids"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	n = -1
	if v := q.Get("n"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			return nil, 0, false, Errorf(http.StatusBadRequest, "logs: n must be a number of lines, got %q", v)
		}
	}
	switch v := q.Get("follow"); v {
	case "", "0", "false":
	case "1", "true":
		follow = true
	default:
		return nil, 0, false, Errorf(http.StatusBadRequest, "logs: follow must be 1 or 0, got %q", v)
	}
	return ids, n, follow, nil
}

// logStream writes the NDJSON answer of one GET /v1/logs: out is the callback
// handed to Cluster.Logs, end finishes the stream with Logs' result.
type logStream struct {
	ctx    context.Context
	w      http.ResponseWriter
	rc     *http.ResponseController
	enc    *json.Encoder
	follow bool
	cancel context.CancelFunc // ends Logs once the client is gone

	// mu serialises out's writes and the end of the stream.
	mu       sync.Mutex
	started  bool // the status line is written
	ended    bool // Logs has returned
	writeErr error

	// deadlineMu orders the two write deadlines; not mu, which out may hold
	// while blocked in the very write the first deadline is to unblock.
	deadlineMu sync.Mutex
	streaming  bool
	stopWrites func() bool
}

func newLogStream(ctx context.Context, w http.ResponseWriter, follow bool, cancel context.CancelFunc) *logStream {
	ls := &logStream{ctx: ctx, w: w, rc: http.NewResponseController(w), enc: json.NewEncoder(w),
		follow: follow, cancel: cancel, streaming: true}
	ls.stopWrites = context.AfterFunc(ctx, func() {
		// Unblock a write to a client that stopped reading, so that
		// shutdown does not wait for it.
		ls.deadlineMu.Lock()
		defer ls.deadlineMu.Unlock()
		if ls.streaming {
			ls.rc.SetWriteDeadline(time.Now())
		}
	})
	return ls
}

// begin writes the status line. It waits for the first log line (or the end),
// so that an error Logs returns at once (an unknown instance) gets its own
// status. Called with mu held.
func (ls *logStream) begin() {
	if !ls.started {
		ls.started = true
		ls.w.Header().Set("Content-Type", "application/x-ndjson")
		ls.w.WriteHeader(http.StatusOK)
	}
}

func (ls *logStream) out(l LogLine) error { return ls.write(logFrame{LogLine: l}) }

// write sends one line of the stream: a logFrame, or a Request of the access log.
func (ls *logStream) write(v any) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case ls.ended:
		return errors.New("logs: line sent after Logs returned")
	case ls.writeErr != nil:
		return ls.writeErr
	}
	ls.begin()
	err := ls.enc.Encode(v)
	if err == nil && ls.follow {
		// A follower wants each line now; without follow the response
		// buffer is flushed at the end.
		err = ls.rc.Flush()
	}
	if err != nil {
		ls.writeErr = fmt.Errorf("logs: client gone: %w", err)
		ls.cancel()
		return ls.writeErr
	}
	return nil
}

// end finishes the stream with err, Logs' result: as the answer's own error
// status when nothing was sent yet, else as a final {"error": ...} line.
func (ls *logStream) end(err error) error {
	ls.deadlineMu.Lock()
	ls.streaming = false
	if !ls.stopWrites() {
		// The deadline may have fired: give the end of the stream (and the
		// final chunk written after the handler) a short one of its own.
		ls.rc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
	}
	ls.deadlineMu.Unlock()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.ended = true
	if ls.writeErr != nil {
		return nil // the client is gone: nobody to tell
	}
	if err != nil && ls.ctx.Err() != nil && errors.Is(err, ls.ctx.Err()) {
		err = nil // the client left or the server is stopping: a normal end
	}
	switch {
	case !ls.started && err != nil:
		return err
	case !ls.started:
		ls.begin()
	case err != nil:
		ls.enc.Encode(logFrame{Error: err.Error()})
	}
	return nil
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "devcluster control: bad request body for %s: %v", r.URL.Path, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusCode(err), errorBody{Error: err.Error()})
}
