package main

import (
	"cmp"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

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
		io.WriteString(o.out, accessLine(ri))
	}
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
func (o *observers) startDashboard(api *clusterAPI, addr string, log *logWriter) *dashboard.Dashboard {
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
