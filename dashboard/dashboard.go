package dashboard

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultPrefix is where the dashboard is mounted on the proxy's listener.
const DefaultPrefix = "/_devcluster/"

//go:embed assets
var assets embed.FS

// Config sets up a Dashboard.
type Config struct {
	Cluster  Cluster
	Recorder *Recorder // the per-request counts; nil: a fresh one nobody feeds
	// Addr is the proxy's bound listen address ("127.0.0.1:8080", not ":0"):
	// the Host every request must name (or localhost with its port).
	Addr string
	// HTTPS: Addr serves HTTPS (the proxy's tls), so URL names https://.
	HTTPS bool
	// AllowedHosts are further host:port values accepted as Host, for a user
	// who reaches the proxy by another name on purpose.
	AllowedHosts []string
	Prefix       string        // default DefaultPrefix; must start and end with "/"
	Token        string        // the run's token; "" makes one (see Token)
	Interval     time.Duration // how often the live feed sends; default 500 ms
	LogLines     int           // lines of each instance's log on the page; default 12
	Recent       int           // recent requests on the page; default 25
	// MaxFeeds caps the live feeds open at once (DefaultMaxFeeds); one more
	// gets a 503. The feed needs no token, so anyone on the machine can open
	// feeds, and each costs a connection and a write per tick.
	MaxFeeds int
}

// Dashboard is the http.Handler of the page, its live feed, its actions and
// /metrics, all under Prefix. Requests outside Prefix get 404: the caller
// routes only Prefix here (see Owns).
type Dashboard struct {
	cfg   Config
	doors *doors
	mux   *http.ServeMux
	reg   *prometheus.Registry

	feeds    feedHub
	feedWake chan struct{} // a new feed asks feeds for a tick now

	closeOnce sync.Once
	done      chan struct{} // closed by Close: live feeds end
}

// New returns a Dashboard; it starts nothing.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Cluster == nil {
		return nil, errors.New("dashboard: Config.Cluster is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("dashboard prefix %q must start and end with \"/\", e.g. %s", cfg.Prefix, DefaultPrefix)
	}
	if cfg.Token == "" {
		t, err := NewToken()
		if err != nil {
			return nil, err
		}
		cfg.Token = t
	}
	if cfg.Recorder == nil {
		cfg.Recorder = NewRecorder(RecorderConfig{})
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 500 * time.Millisecond
	}
	if cfg.LogLines <= 0 {
		cfg.LogLines = 12
	}
	if cfg.Recent <= 0 {
		cfg.Recent = 25
	}
	if cfg.MaxFeeds <= 0 {
		cfg.MaxFeeds = DefaultMaxFeeds
	}
	dr, err := newDoors(cfg.Token, cfg.Addr, cfg.Prefix, cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{cfg: cfg, doors: dr, reg: prometheus.NewRegistry(), done: make(chan struct{}), feedWake: make(chan struct{}, 1)}
	d.feeds.d = d
	for _, c := range cfg.Recorder.collectors() {
		if err := d.reg.Register(c); err != nil {
			return nil, fmt.Errorf("dashboard metrics: %w (is the Recorder shared by two dashboards?)", err)
		}
	}
	d.reg.MustRegister(clusterCollector{d})
	d.routes()
	return d, nil
}

// Token is the run's token, for the URL printed at start.
func (d *Dashboard) Token() string { return d.cfg.Token }

// Prefix is the path the dashboard is mounted under.
func (d *Dashboard) Prefix() string { return d.cfg.Prefix }

// URL is the address to print at start, the token in its fragment (see
// doors.go): the page keeps it for the tab and leaves the plain page in the
// address bar.
func (d *Dashboard) URL() string {
	scheme := "http://"
	if d.cfg.HTTPS {
		scheme = "https://"
	}
	return scheme + d.cfg.Addr + d.cfg.Prefix + "#token=" + d.cfg.Token
}

// Owns reports whether path is the dashboard's (under Prefix, or Prefix
// without its final slash): such requests never reach the app.
func (d *Dashboard) Owns(path string) bool {
	return strings.HasPrefix(path, d.cfg.Prefix) || path == strings.TrimSuffix(d.cfg.Prefix, "/")
}

// Close ends every live feed, so that the server's Shutdown need not wait
// for pages that stay open. The Dashboard still answers other requests.
func (d *Dashboard) Close() error {
	d.closeOnce.Do(func() { close(d.done) })
	d.feeds.close()
	return nil
}

func (d *Dashboard) routes() {
	p := d.cfg.Prefix
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix(p+"assets/", http.FileServerFS(sub))
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET "+p+"{$}", d.servePage)
	d.mux.Handle("GET "+p+"assets/", files)
	d.mux.HandleFunc("GET "+p+"events", d.serveEvents)
	d.mux.HandleFunc("GET "+p+"api/state", d.serveState)
	d.mux.HandleFunc("POST "+p+"api/action", d.serveAction)
	d.mux.Handle("GET "+p+"metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	d.mux.HandleFunc(strings.TrimSuffix(p, "/"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p, http.StatusMovedPermanently)
	})
}

// ServeHTTP applies the Host rule to every request, then routes it.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w.Header())
	if !d.doors.hostOK(r) {
		http.Error(w, hostRefusal(r), http.StatusForbidden)
		return
	}
	d.mux.ServeHTTP(w, r)
}

// servePage serves the page. A ?token=… URL (as printed before the token
// moved to the fragment) is sent on to the #token= form, no cookie set.
func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request) {
	if t := r.URL.Query().Get("token"); t != "" {
		if subtle.ConstantTimeCompare([]byte(t), []byte(d.cfg.Token)) != 1 {
			http.Error(w, "wrong dashboard token: open the URL devcluster up printed for this run", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, d.cfg.Prefix+"#token="+d.cfg.Token, http.StatusSeeOther)
		return
	}
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

func (d *Dashboard) serveState(w http.ResponseWriter, r *http.Request) {
	st, err := d.state(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	st.CanAct = d.doors.tokenOK(r) // how the page learns its token is right
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// maxActionBody bounds an action's JSON: a few hundred bytes in practice.
const maxActionBody = 4 << 10

func (d *Dashboard) serveAction(w http.ResponseWriter, r *http.Request) {
	if why := d.doors.checkMutation(r); why != "" {
		http.Error(w, why, http.StatusForbidden)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "an action is a JSON body with Content-Type: application/json, got "+quoteOr(ct), http.StatusUnsupportedMediaType)
		return
	}
	var j actionJSON
	dec := json.NewDecoder(io.LimitReader(r.Body, maxActionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		http.Error(w, "bad action: "+err.Error(), http.StatusBadRequest)
		return
	}
	a := j.action()
	if err := a.Validate(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	snap, err := d.cfg.Cluster.Snapshot(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := checkTarget(a, snap); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err := d.cfg.Cluster.Act(r.Context(), a); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"ok":true}`)
}
