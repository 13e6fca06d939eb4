package main

import (
	"net/http"
	"sync/atomic"

	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/proxy"
)

// dashboardMount puts the dashboard on the proxy's listener. The proxy is built
// (with its OnRequest hook and Local handler fixed in its Config) before the
// dashboard can be: the dashboard needs the proxy's bound address and the
// control API over the supervisor. So the mount is handed to the proxy first,
// counts requests from the start, and answers 503 under the prefix until start
// has built the page.
type dashboardMount struct {
	rec *dashboard.Recorder
	d   atomic.Pointer[dashboard.Dashboard]
}

func newDashboardMount() *dashboardMount {
	return &dashboardMount{rec: dashboard.NewRecorder(dashboard.RecorderConfig{})}
}

// configure hands the mount to the proxy's Config before proxy.New: requests
// under the prefix come here, and every other request is counted once it has
// ended (after whatever OnRequest already does, the access log).
func (m *dashboardMount) configure(cfg *proxy.Config) {
	cfg.Local, cfg.LocalPrefix = m, proxy.DefaultLocalPrefix
	prev := cfg.OnRequest
	cfg.OnRequest = func(ri proxy.RequestInfo) {
		if prev != nil {
			prev(ri)
		}
		m.rec.Record(dashboardRequest(ri))
	}
}

// ServeHTTP is the proxy's Config.Local.
func (m *dashboardMount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := m.d.Load()
	if d == nil {
		http.Error(w, "the devcluster dashboard is starting; reload in a moment", http.StatusServiceUnavailable)
		return
	}
	d.ServeHTTP(w, r)
}

// start builds the dashboard over api for the proxy bound at addr and returns
// its URL (also recorded in api for ps and `devcluster dashboard`). Call it
// before the control server serves.
func (m *dashboardMount) start(api *clusterAPI, addr string) (string, error) {
	d, err := api.newDashboard(m.rec, addr, proxy.DefaultLocalPrefix)
	if err != nil {
		return "", err
	}
	m.d.Store(d)
	return d.URL(), nil
}

// close ends the page's live feeds, so that the proxy's shutdown need not wait
// for browsers that keep the page open. Call it before stopping the proxy.
func (m *dashboardMount) close() {
	if d := m.d.Load(); d != nil {
		d.Close()
	}
}
