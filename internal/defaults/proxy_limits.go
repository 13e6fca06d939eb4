package defaults

import "time"

// The proxy's limits and timeouts (devcluster.yaml's proxy: section, issue 10),
// chosen as HAProxy's and nginx's defaults are, so that an app behaves behind
// devcluster as it will behind them in production.
const (
	// MaxConn caps the client connections served at once, as HAProxy's global
	// maxconn; more wait in the kernel's accept backlog. Each may hold one
	// descriptor per instance besides its own, and the soft descriptor limit
	// is raised to the hard one at start.
	MaxConn = 4096
	// IdleTimeout closes an idle keep-alive client connection (HAProxy
	// timeout http-keep-alive, nginx keepalive_timeout 75s).
	IdleTimeout = 60 * time.Second
	// BodyTimeout: each read of a request body must bring data within it,
	// else 408 (nginx client_body_timeout).
	BodyTimeout = 60 * time.Second
	// ClientWriteTimeout: each write to a client must progress within it, else
	// the connection is closed (HAProxy timeout client, nginx send_timeout).
	ClientWriteTimeout = 60 * time.Second
	// StallTimeout: an instance owing response heads this long while
	// answering nothing else is checked and, if it does not answer within as
	// long again, leaves rotation (Envoy's outlier detection); a SIGSTOPped
	// instance is out within about 1.1 s. An instance busy with a slow request
	// answers the check and stays in, so the threshold can be short.
	StallTimeout = 500 * time.Millisecond
	// StallCheckTimeoutMin is the least time the confirming check is given,
	// whatever StallTimeout is set to.
	StallCheckTimeoutMin = 250 * time.Millisecond
	// MaxRequestLine: longer request lines get 414 (nginx
	// large_client_header_buffers 8k).
	MaxRequestLine = 8 << 10
	// MaxHeaderBytes: larger request heads get 431 (nginx 4×8k).
	MaxHeaderBytes = 64 << 10
	// MaxHeaderFields: more header fields get 431 (HAProxy tune.http.maxhdr 101).
	MaxHeaderFields = 100
)

// The proxy's own pages.
const (
	// DashboardPrefix is where the proxy serves the dashboard on its own
	// listener; requests under it never reach an instance.
	DashboardPrefix = "/_devcluster/"
	// StatsListen is where an exported haproxy.cfg serves HAProxy's stats page.
	StatsListen = "127.0.0.1:8404"
)

// RetryOn is proxy.retry_on when it is not written: a request is sent to
// another instance only when it was never delivered (HAProxy's default), so
// that a request which crashes its instance does not crash the others.
func RetryOn() []string { return []string{"conn-failure"} }

// RetryOnValues lists the values of proxy.retry_on, as HAProxy spells them,
// the default first; "none" (never retry) stands alone.
func RetryOnValues() []string {
	return []string{"conn-failure", "empty-response", "response-timeout", "503", "none"}
}
