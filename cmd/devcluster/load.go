package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/loadgen"
	"github.com/devcluster/devcluster/localca"
)

// loadFlags are devcluster load's flags.
type loadFlags struct {
	client      clientFlags
	connections int
	rate        string
	duration    time.Duration
	count       int
	method      string
	headers     []string
	body        string
	keepAlive   bool
	cookies     bool
	timeout     time.Duration
	cacert      string
}

func newLoadCmd(e *env) *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load [PATH|URL]",
		Short: "Send a bounded load through the cluster's proxy and print who answered, how fast",
		Long: `load sends HTTP requests to the running cluster's proxy (PATH, default /) or to
any URL, from -c virtual users, each with its own connection and its own cookies
(a session per user). It stops at -d DURATION or -n COUNT (one is required).

Closed loop (the default): each user sends its next request when the last one is
answered, as wrk and hey do. Open loop (--rate R): requests are due R per second
whatever the answers, and each latency is measured from the time it was due, so
a stalled instance shows in the percentiles instead of slowing the senders.

While it runs on a terminal it prints a line a second; at the end a receipt:
requests, failed (no answer, or a 5xx) by cause, status codes, answers per
instance (from the proxy's X-Devcluster-Instance), latency percentiles. --json
prints the receipt as one object. Failed requests are part of what it measures:
the exit status is 0 even then, as wrk's is (1 only when load could not run).`,
		Example: `  devcluster load -n 30                       # 30 requests to /, 10 users
  devcluster load /login -c 20 -d 10s         # 20 users for 10 seconds
  devcluster load /api --rate 200/s -d 30s    # open loop: 200 requests per second
  devcluster load -X POST --body @order.json -H 'Content-Type: application/json' /orders -n 100
  devcluster load http://127.0.0.1:5000/ -n 1000 --keepalive=false --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := "/"
			if len(args) == 1 {
				target = args[0]
			}
			cfg, err := loadConfig(cmd.Context(), e, &f, target)
			if err != nil {
				return err
			}
			if !f.client.json && isTerminal(e.stderr) {
				cfg.Every = func(p loadgen.Progress) { writeLoadProgress(e.stderr, p) }
			}
			g, err := loadgen.New(cfg)
			if errors.Is(err, loadgen.ErrUnbounded) {
				return withHint(err, "devcluster load "+target+" -d 10s")
			}
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res := g.Run(ctx)
			if f.client.json {
				if err := writeJSON(e.stdout, res); err != nil {
					return err
				}
			} else {
				writeLoadReceipt(e.stdout, cfg, res)
			}
			return nil // a failed request is part of what load measures, as in wrk
		},
	}
	fl := cmd.Flags()
	addClientFlags(cmd, &f.client)
	fl.IntVarP(&f.connections, "connections", "c", 10, "virtual users, each with its own connection and cookies")
	fl.StringVar(&f.rate, "rate", "", "open loop: requests due per second (e.g. 200 or 200/s); default: closed loop")
	fl.DurationVarP(&f.duration, "duration", "d", 0, "stop sending after this long (e.g. 10s)")
	fl.IntVarP(&f.count, "requests", "n", 0, "stop after this many requests")
	fl.StringVarP(&f.method, "method", "X", "GET", "request method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fl.StringVar(&f.body, "body", "", "request body, or @FILE to read it from a file")
	fl.BoolVar(&f.keepAlive, "keepalive", true, "reuse each user's connection (false: a new connection per request)")
	fl.BoolVar(&f.cookies, "cookies", true, "each user keeps the cookies it is sent (sessions)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "for each request's answer")
	fl.StringVar(&f.cacert, "cacert", "", "https: trust this CA certificate (PEM) besides the system's, e.g. $(devcluster trust --path)")
	jsonErrors(e, cmd, &f.client)
	return cmd
}

// loadConfig turns the flags and the target into a loadgen.Config.
func loadConfig(ctx context.Context, e *env, f *loadFlags, target string) (loadgen.Config, error) {
	cfg := loadgen.Config{Connections: f.connections, Duration: f.duration, Count: f.count,
		Method: strings.ToUpper(f.method), KeepAlive: f.keepAlive, Cookies: f.cookies, Timeout: f.timeout}
	if f.connections <= 0 {
		return cfg, withHint(fmt.Errorf("-c %d: want at least 1 virtual user", f.connections), "devcluster load -c 10 -d 10s")
	}
	if f.duration < 0 || f.count < 0 {
		return cfg, withHint(errors.New("-d and -n must not be negative"), "devcluster load -d 10s")
	}
	if f.rate != "" {
		r, err := strconv.ParseFloat(strings.TrimSuffix(f.rate, "/s"), 64)
		if err != nil || r <= 0 {
			return cfg, withHint(fmt.Errorf("--rate %q: want requests per second, e.g. 200 or 200/s", f.rate), "devcluster load --rate 200/s -d 10s")
		}
		cfg.Rate = r
	}
	hdr := http.Header{}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
			return cfg, withHint(fmt.Errorf("header %q: want 'Name: value'", h), "devcluster load -H 'Accept: application/json' -n 10")
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	cfg.Header = hdr
	if name, ok := strings.CutPrefix(f.body, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return cfg, fmt.Errorf("--body @%s: %w", name, err)
		}
		cfg.Body = b
	} else if f.body != "" {
		cfg.Body = []byte(f.body)
	}
	url, err := loadURL(ctx, e, &f.client, target)
	cfg.URL = url
	if err != nil {
		return cfg, err
	}
	cacert := f.cacert
	if cacert == "" && strings.HasPrefix(url, "https://") {
		cacert = localCACert(e.getenv) // the cluster's HTTPS is the local CA's, as a rule
	}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return cfg, fmt.Errorf("--cacert: %w", err)
		}
		pool, _ := x509.SystemCertPool()
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("--cacert %s: no PEM certificate in it", cacert)
		}
		cfg.TLS = &tls.Config{RootCAs: pool}
	}
	return cfg, nil
}

// localCACert is the local CA's certificate (devcluster trust --path) if it
// exists, else "" (the system's roots alone).
func localCACert(getenv func(string) string) string {
	dir, err := localca.DefaultDir(getenv)
	if err != nil {
		return ""
	}
	p := filepath.Join(dir, localca.CAFile)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// loadURL is target itself when it is a URL, else PATH on the running
// cluster's proxy.
func loadURL(ctx context.Context, e *env, f *clientFlags, target string) (string, error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return target, nil
	}
	if !strings.HasPrefix(target, "/") {
		return "", withHint(fmt.Errorf("load target %q: want a path starting with / or an http:// URL", target), "devcluster load /"+target+" -n 10")
	}
	c, err := dial(e, f)
	if err != nil {
		return "", err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	if st.Proxy == "" {
		return "", withHint(errors.New("this cluster runs no proxy (no balanced process)"), "devcluster load http://127.0.0.1:5000/ -n 10")
	}
	if st.ProxyURL != "" {
		return st.ProxyURL + target, nil
	}
	return "http://" + st.Proxy + target, nil
}

// writeLoadProgress prints the live view's line for one second.
func writeLoadProgress(w io.Writer, p loadgen.Progress) {
	rate := 0.0
	if p.IntervalTime > 0 {
		rate = float64(p.Interval) / p.IntervalTime.Seconds()
	}
	fmt.Fprintf(w, "%5.0fs %8.0f req/s  %d sent  %d failed  p50 %s p90 %s p99 %s  %s  %s\n",
		p.Elapsed.Seconds(), rate, p.Requests, p.Failed,
		fmtLatency(p.Latency.P50), fmtLatency(p.Latency.P90), fmtLatency(p.Latency.P99),
		shareList(p.Result), statusList(p.Statuses))
}

// writeLoadReceipt prints the receipt of a finished load.
func writeLoadReceipt(w io.Writer, cfg loadgen.Config, r loadgen.Result) {
	loop := fmt.Sprintf("closed loop, %d %s", r.Connections, plural(r.Connections, "user", "users"))
	if r.Mode == "open" {
		loop = fmt.Sprintf("open loop at %g/s, up to %d in flight", r.Rate, r.Connections)
	}
	conn := "keep-alive"
	if !cfg.KeepAlive {
		conn = "a connection per request"
	}
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Requests) / r.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "%s %s: %d requests in %.2fs (%.0f req/s), %s, %s\n", cfg.Method, cfg.URL, r.Requests, r.Elapsed.Seconds(), rate, loop, conn)
	failed := strconv.FormatInt(r.Failed, 10)
	if r.Failed > 0 {
		failed += " (" + countList(r.FailedBy) + ")"
	}
	fmt.Fprintf(w, "  failed     %s\n", failed)
	fmt.Fprintf(w, "  statuses   %s\n", cmp.Or(statusList(r.Statuses), "none"))
	fmt.Fprintf(w, "  instances  %s\n", cmp.Or(instanceList(r), "none named (no X-Devcluster-Instance header)"))
	l := r.Latency
	fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  max %s  mean %s%s\n", fmtLatency(l.P50), fmtLatency(l.P90),
		fmtLatency(l.P99), fmtLatency(l.Max), fmtLatency(l.Mean), map[bool]string{true: "  (from each request's due time)"}[r.Mode == "open"])
	fmt.Fprintf(w, "  read       %s of bodies\n", fmtBytes(r.Bytes))
}

func instanceList(r loadgen.Result) string {
	shares := r.Shares()
	var parts []string
	for _, k := range sortedKeys(r.Instances) {
		parts = append(parts, fmt.Sprintf("%s %d (%.1f%%)", k, r.Instances[k], shares[k]))
	}
	return strings.Join(parts, "  ")
}

func shareList(r loadgen.Result) string {
	shares := r.Shares()
	var parts []string
	for _, k := range sortedKeys(r.Instances) {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", k, shares[k]))
	}
	return strings.Join(parts, " ")
}

func statusList(m map[int]int64) string {
	var codes []int
	for k := range m {
		codes = append(codes, k)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d ×%d", c, m[c]))
	}
	return strings.Join(parts, "  ")
}

func countList(m map[string]int64) string {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// loadTLS is the dashboard's loads' TLS settings for proxyURL: nil for plain
// HTTP; for HTTPS, the system's roots and the local CA's (the certificate
// up --https serves), or the system's alone for a certificate of the user's.
func loadTLS(proxyURL string, getenv func(string) string) *tls.Config {
	if !strings.HasPrefix(proxyURL, "https://") {
		return nil
	}
	pool, _ := x509.SystemCertPool()
	if pool == nil {
		pool = x509.NewCertPool()
	}
	if p := localCACert(getenv); p != "" {
		if pem, err := os.ReadFile(p); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
	}
	return &tls.Config{RootCAs: pool}
}
