package cluster

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fatih/color"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/fanout"
	"github.com/devcluster/devcluster/internal/termsafe"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
)

// Observers are what up hangs on the proxy's request path (issue 12): the
// dashboard's recorder and page, and the access log. The proxy is built before
// its listener is bound, while the dashboard needs the bound address (its Host
// check and URL), so the proxy is given a handler that the dashboard is plugged
// into (Start) once the listener is bound.
type Observers struct {
	rec       *dashboard.Recorder // nil: no dashboard
	prefix    string
	page      lateHandler
	accessLog bool
	out       io.Writer // the access log's lines, beside the instances' output
	// colorOf is the supervisor's colour of an instance (nil: plain), set once
	// the supervisor exists; the proxy may report requests before.
	colorOf   atomic.Pointer[func(string) *color.Color]
	followers *accessHub // `devcluster logs --access`
}

// NewObservers decides from the manifest's proxy section and --access-log
// (accessLog) what is observed; the access log's lines go to out.
func NewObservers(pc procfile.ProxyConfig, accessLog bool, out io.Writer) *Observers {
	o := &Observers{accessLog: accessLog || pc.AccessLog, out: out, followers: newAccessHub()}
	if !pc.DashboardOff {
		o.rec = dashboard.NewRecorder(dashboard.RecorderConfig{})
		o.prefix = cmp.Or(pc.DashboardPrefix, defaults.DashboardPrefix)
	}
	return o
}

// Configure sets the proxy's hooks: OnRequest only when something listens to it
// (nil costs the proxy nothing), Local only with a dashboard.
func (o *Observers) Configure(cfg *proxy.Config) {
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
func (o *Observers) onRequest(ri proxy.RequestInfo) {
	if o.rec != nil {
		o.rec.Record(dashboardRequest(ri))
	}
	if !o.accessLog && !o.followers.listening() {
		return
	}
	r := controlRequest(ri)
	if o.accessLog {
		io.WriteString(o.out, o.colored(r.Instance, AccessLine(r)))
	}
	o.followers.publish(r)
}

// colored paints line (ending in a newline) in instance's colour as the
// supervisor paints its "web.2 |" lines: the colour only repeats the instance
// named in the line, and the supervisor has decided it for this very writer
// (NO_COLOR, FORCE_COLOR, a terminal or not).
func (o *Observers) colored(instance, line string) string {
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

// AccessLine is one access-log line as the instances' lines look in up's
// output, "12:00:01 proxy | GET /cart → web.3 200 12ms id=…" and a newline, to
// be written whole in one Write so that it does not interleave with theirs.
// up's access log and `devcluster logs --access` both print it.
func AccessLine(r control.Request) string {
	line := accessLogLine(r)
	if at, rest, ok := strings.Cut(line, " "); ok {
		return at + " proxy | " + rest + "\n"
	}
	return "proxy | " + line + "\n"
}

// accessLogLine formats r as one line of the access log, without a newline:
//
//	12:00:01 GET /cart → web.3 200 12ms id=9f2c01ab-1f
//	12:00:02 GET /cart → web.2 200 3.1ms id=9f2c01ab-20 retried from web.1: refused
//	12:00:05 GET /slow → web.3 504 30.0s timeout id=9f2c01ab-21 fault: timeout
//
// "-" stands for no instance or no status. The client's text and the
// decisions go through termsafe.LogField: a raw 0x9b or U+202E in a path is
// written \x9B, \xE2\x80\xAE, as nginx writes them.
func accessLogLine(r control.Request) string {
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05"))
	b.WriteByte(' ')
	b.WriteString(termsafe.LogField(r.Method))
	b.WriteByte(' ')
	b.WriteString(termsafe.LogField(r.Path))
	b.WriteString(" → ")
	b.WriteString(cmp.Or(r.Instance, "-"))
	b.WriteByte(' ')
	if r.Status == 0 {
		b.WriteByte('-')
	} else {
		b.WriteString(strconv.Itoa(r.Status))
	}
	b.WriteByte(' ')
	b.WriteString(logDuration(r.Duration))
	if r.ErrorClass != "" {
		b.WriteByte(' ')
		b.WriteString(r.ErrorClass)
	}
	if r.RequestID != "" {
		b.WriteString(" id=")
		b.WriteString(termsafe.LogField(r.RequestID))
	}
	if r.Decision != "" {
		b.WriteByte(' ')
		b.WriteString(termsafe.LogField(r.Decision))
	}
	return b.String()
}

// logDuration is short and readable: "0.4ms", "12ms", "1.2s".
func logDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// Start builds the dashboard on the bound address and plugs it in; a
// dashboard that cannot be built is reported to logf and the cluster runs
// without it (nil). It is also where the observers meet the running cluster:
// the supervisor's colours for the access log, and api's AccessLog for `logs
// --access`. Call it before the control server starts serving api.
// DashboardAddr is where the dashboard is reached: the proxy's bound address
// its URL names (over HTTPS when HTTPS), and others it also answers on (plain
// HTTP beside HTTPS).
type DashboardAddr struct {
	Addr  string
	HTTPS bool
	Also  []string
}

func (o *Observers) Start(api *API, at DashboardAddr, logf func(format string, args ...any)) *dashboard.Dashboard {
	if sup := api.cfg.Supervisor; sup != nil {
		colorOf := sup.ColorOf
		o.colorOf.Store(&colorOf)
	}
	api.obs.Store(o)
	if o.rec == nil {
		return nil
	}
	d, err := api.newDashboard(o.rec, at, o.prefix)
	if err != nil {
		logf("warning: no dashboard: %v", err)
		return nil
	}
	o.page.set(d)
	logf("dashboard on %s", d.URL())
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

// accessHub hands each request to the `logs --access` followers (a
// fanout.Hub, as the supervisor's Follow is). With none (the usual case)
// publish is one atomic load.
type accessHub struct{ hub fanout.Hub[control.Request] }

func newAccessHub() *accessHub {
	return &accessHub{hub: fanout.Hub[control.Request]{Buffer: accessFollowBuffer, Marker: accessDropped}}
}

// accessDropped stands, in a follower's stream, where n requests were dropped.
func accessDropped(n int, next control.Request) control.Request {
	return control.Request{Time: next.Time, Method: "-", Path: "-",
		Decision: fmt.Sprintf("[devcluster: %d requests dropped, reader too slow]", n)}
}

// listening reports whether anyone follows: one atomic load.
func (h *accessHub) listening() bool { return h.hub.Subscribers() > 0 }

func (h *accessHub) publish(r control.Request) { h.hub.Publish(r) }

// follow calls out with every request from now on, until ctx is done or out fails.
func (h *accessHub) follow(ctx context.Context, out func(control.Request) error) error {
	s := h.hub.Subscribe(nil)
	defer h.hub.Unsubscribe(s)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-s.C:
			if !ok {
				return nil
			}
			if err := out(r); err != nil {
				return err
			}
		}
	}
}

// accessFollow serves control's GET /v1/access. The proxy reports requests
// only when a hook was set at start (see configure): with dashboard: false
// and no access log there is none, and the follower is told how to get one.
func (o *Observers) accessFollow(ctx context.Context, out func(control.Request) error) error {
	if o.rec == nil && !o.accessLog {
		return control.Errorf(http.StatusConflict, "access log: this cluster does not record requests (dashboard: false in the manifest, no access log); "+
			"restart it with devcluster up --access-log, or remove dashboard: false")
	}
	return o.followers.follow(ctx, out)
}

// controlRequest is a request of the proxy's OnRequest hook as the access log
// and its followers carry it: made once per request, whoever reads it.
func controlRequest(ri proxy.RequestInfo) control.Request {
	return control.Request{Time: ri.Time, Instance: ri.Instance, Process: ri.Process, Method: ri.Method, Path: ri.Path,
		Status: ri.Status, Duration: ri.Duration, Upstream: ri.Upstream, RequestID: ri.RequestID, Decision: ri.Decision,
		ErrorClass: ri.ErrorClass, BytesIn: ri.BytesIn, BytesOut: ri.BytesOut, Retries: ri.Retries}
}

var _ control.AccessLogger = (*API)(nil)

// AccessLog serves `devcluster logs --access`: see Observers.accessFollow.
func (a *API) AccessLog(ctx context.Context, out func(control.Request) error) error {
	o := a.obs.Load()
	if o == nil {
		return control.Errorf(http.StatusServiceUnavailable, "access log: the cluster is still starting; try again")
	}
	return o.accessFollow(ctx, out)
}
