package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fatih/color"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/proxy"
)

// observers are what up hangs on the proxy's request path (issue 12): the
// dashboard's recorder and page, and the access log. The proxy is built before
// its listener is bound, while the dashboard needs the bound address (its Host
// check and URL), so the proxy is given a handler that the dashboard is plugged
// into once Run has bound the listener.
type observers struct {
	rec       *dashboard.Recorder // nil: no dashboard
	prefix    string
	page      lateHandler
	accessLog bool
	out       io.Writer // the access log's lines, beside the instances' output
	// colorOf is the supervisor's colour of an instance (nil: plain), set once
	// the supervisor exists; the proxy may report requests before.
	colorOf   atomic.Pointer[func(string) *color.Color]
	followers accessHub // `devcluster logs --access`
}

// newObservers decides from the manifest and the flags what is observed.
func newObservers(proj *project, accessLog bool, out io.Writer) *observers {
	m := proj.manifest
	o := &observers{accessLog: accessLog || m.Proxy.AccessLog, out: out}
	if !m.Proxy.DashboardOff {
		o.rec = dashboard.NewRecorder(dashboard.RecorderConfig{})
		o.prefix = cmp.Or(m.Proxy.DashboardPrefix, defaults.DashboardPrefix)
	}
	return o
}

// configure sets the proxy's hooks: OnRequest only when something listens to it
// (nil costs the proxy nothing), Local only with a dashboard.
func (o *observers) configure(cfg *proxy.Config) {
	if o.rec != nil {
		cfg.Local = &o.page
		cfg.LocalPrefix = o.prefix
	}
	if o.rec != nil || o.accessLog {
		cfg.OnRequest = o.onRequest
	}
}

// onRequest runs in the client connection's goroutine once a response has
// ended: it must stay quick (the recorder takes one lock; the log one write).
func (o *observers) onRequest(ri proxy.RequestInfo) {
	if o.rec != nil {
		o.rec.Record(dashboardRequest(ri))
	}
	if o.accessLog {
		io.WriteString(o.out, o.colored(ri.Instance, accessLine(ri)))
	}
	o.followers.publish(ri)
}

// colored paints line (ending in a newline) in instance's colour as the
// supervisor paints its "web.2 |" lines: the colour only repeats the instance
// named in the line, and the supervisor has decided it for this very writer
// (NO_COLOR, FORCE_COLOR, a terminal or not).
func (o *observers) colored(instance, line string) string {
	f := o.colorOf.Load()
	if f == nil || instance == "" {
		return line
	}
	c := (*f)(instance)
	if c == nil {
		return line
	}
	return c.Sprint(strings.TrimSuffix(line, "\n")) + "\n"
}

// accessLine is one access-log line as the instances' lines look in up's output,
// "12:00:01 proxy | GET /cart → web.3 200 12ms id=…", written whole in one Write
// so that it does not interleave with theirs.
func accessLine(ri proxy.RequestInfo) string {
	line := proxy.AccessLogLine(ri)
	if at, rest, ok := strings.Cut(line, " "); ok {
		return at + " proxy | " + rest + "\n"
	}
	return "proxy | " + line + "\n"
}

// startDashboard builds the dashboard on the bound address and plugs it in; a
// dashboard that cannot be built is reported and the cluster runs without it.
// It is also where the observers meet the running cluster: the supervisor's
// colours for the access log, and api's AccessLog for `logs --access`.
func (o *observers) startDashboard(api *clusterAPI, addr string, log *logWriter) *dashboard.Dashboard {
	if api.sup != nil {
		colorOf := api.sup.ColorOf
		o.colorOf.Store(&colorOf)
	}
	api.obs.Store(o)
	if o.rec == nil {
		return nil
	}
	d, err := api.newDashboard(o.rec, addr, o.prefix)
	if err != nil {
		log.printf("warning: no dashboard: %v", err)
		return nil
	}
	o.page.set(d)
	log.printf("dashboard on %s", d.URL())
	return d
}

// lateHandler serves with the handler it is given once there is one; before
// (and for a dashboard that failed to start) it answers 503.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "the devcluster dashboard is not running", http.StatusServiceUnavailable)
}

// accessFollowBuffer is how many requests a `logs --access` follower may lag
// behind before requests are dropped for it: the proxy never waits for one.
const accessFollowBuffer = 256

// accessHub hands each request to the `logs --access` followers. With none
// (the usual case) publish is one atomic load.
type accessHub struct {
	n    atomic.Int32
	mu   sync.Mutex
	subs map[*accessSub]struct{}
}

type accessSub struct {
	ch      chan proxy.RequestInfo
	dropped int // guarded by accessHub.mu
}

func (h *accessHub) publish(ri proxy.RequestInfo) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.dropped > 0 {
			marker := proxy.RequestInfo{Time: ri.Time, Method: "-", Path: "-",
				Decision: fmt.Sprintf("[devcluster: %d requests dropped, reader too slow]", s.dropped)}
			select {
			case s.ch <- marker:
				s.dropped = 0
			default:
				s.dropped++
				continue
			}
		}
		select {
		case s.ch <- ri:
		default:
			s.dropped++
		}
	}
}

// follow calls out with every request from now on, until ctx is done or out fails.
func (h *accessHub) follow(ctx context.Context, out func(proxy.RequestInfo) error) error {
	s := &accessSub{ch: make(chan proxy.RequestInfo, accessFollowBuffer)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[*accessSub]struct{})
	}
	h.subs[s] = struct{}{}
	h.n.Add(1)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.n.Add(-1)
		h.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ri := <-s.ch:
			if err := out(ri); err != nil {
				return err
			}
		}
	}
}

// accessFollow serves control's GET /v1/access. The proxy reports requests
// only when a hook was set at start (see configure): with dashboard: false
// and no access log there is none, and the follower is told how to get one.
func (o *observers) accessFollow(ctx context.Context, out func(control.Request) error) error {
	if o.rec == nil && !o.accessLog {
		return control.Errorf(http.StatusConflict, "access log: this cluster does not record requests (dashboard: false in the manifest, no access log); "+
			"restart it with devcluster up --access-log, or remove dashboard: false")
	}
	return o.followers.follow(ctx, func(ri proxy.RequestInfo) error { return out(controlRequest(ri)) })
}

func controlRequest(ri proxy.RequestInfo) control.Request {
	return control.Request{Time: ri.Time, Instance: ri.Instance, Process: ri.Process, Method: ri.Method, Path: ri.Path,
		Status: ri.Status, Duration: ri.Duration, Upstream: ri.Upstream, RequestID: ri.RequestID, Decision: ri.Decision,
		ErrorClass: ri.ErrorClass, BytesIn: ri.BytesIn, BytesOut: ri.BytesOut, Retries: ri.Retries}
}

// requestInfo is controlRequest undone, for `logs --access` to print the line
// up prints.
func requestInfo(r control.Request) proxy.RequestInfo {
	return proxy.RequestInfo{Time: r.Time, Instance: r.Instance, Process: r.Process, Method: r.Method, Path: r.Path,
		Status: r.Status, Duration: r.Duration, Upstream: r.Upstream, RequestID: r.RequestID, Decision: r.Decision,
		ErrorClass: r.ErrorClass, BytesIn: r.BytesIn, BytesOut: r.BytesOut, Retries: r.Retries}
}

var _ control.AccessLogger = (*clusterAPI)(nil)

// AccessLog serves `devcluster logs --access`: see observers.accessFollow.
func (a *clusterAPI) AccessLog(ctx context.Context, out func(control.Request) error) error {
	o := a.obs.Load()
	if o == nil {
		return control.Errorf(http.StatusServiceUnavailable, "access log: the cluster is still starting; try again")
	}
	return o.accessFollow(ctx, out)
}
