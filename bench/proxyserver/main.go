// Command proxyserver runs devcluster's proxy on its own, in front of backends that are
// already running, so that a benchmark can measure it (and its CPU time, from /proc) as a
// process of its own, exactly as it measures HAProxy and nginx.
//
//	proxyserver -listen 127.0.0.1:18080 \
//	    -backend web.1=127.0.0.1:18001 -backend web.2=127.0.0.1:18002 -backend web.3=127.0.0.1:18003
//
// -cpuprofile FILE writes a pprof CPU profile of the whole run (go tool pprof -top FILE).
// -onrequest sets Config.OnRequest to a recorder as cheap as the dashboard's (recorder.go),
// to measure what per-request accounting costs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/devcluster/devcluster/localca"
	"github.com/devcluster/devcluster/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "proxyserver: %v\n", err)
		os.Exit(1)
	}
}

// backendFlag collects repeated -backend ID=ADDR flags in order.
type backendFlag []backendSpec

type backendSpec struct{ id, addr string }

func (b *backendFlag) String() string {
	parts := make([]string, len(*b))
	for i, s := range *b {
		parts[i] = s.id + "=" + s.addr
	}
	return strings.Join(parts, ",")
}

func (b *backendFlag) Set(v string) error {
	spec, err := parseBackend(v)
	if err != nil {
		return err
	}
	*b = append(*b, spec)
	return nil
}

// parseBackend reads "web.1=127.0.0.1:18001"; the part of the ID before the last dot is
// the process, which becomes the pool.
func parseBackend(v string) (backendSpec, error) {
	id, addr, ok := strings.Cut(v, "=")
	if !ok || id == "" || addr == "" {
		return backendSpec{}, fmt.Errorf("backend %q: want ID=HOST:PORT, e.g. web.1=127.0.0.1:18001", v)
	}
	dot := strings.LastIndexByte(id, '.')
	if dot <= 0 || dot == len(id)-1 {
		return backendSpec{}, fmt.Errorf("backend %q: the ID must be PROCESS.N, e.g. web.1", v)
	}
	return backendSpec{id: id, addr: addr}, nil
}

func (s backendSpec) process() string { return s.id[:strings.LastIndexByte(s.id, '.')] }

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxyserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:18080", "address the proxy listens on")
	strategy := fs.String("strategy", "", "balancing strategy (default roundrobin)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	onRequest := fs.Bool("onrequest", false, "set an OnRequest hook that records every request, as the dashboard does")
	cert := fs.String("tls-cert", "", "serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate (and -tls-key)")
	key := fs.String("tls-key", "", "the key of -tls-cert")
	var backends backendFlag
	fs.Var(&backends, "backend", "ID=HOST:PORT of a running backend, e.g. web.1=127.0.0.1:18001 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(backends) == 0 {
		return errors.New("no -backend given: name at least one, e.g. -backend web.1=127.0.0.1:18001")
	}

	cfg := proxy.Config{Listen: *listen, Strategy: *strategy, Log: stderr}
	if *cert != "" {
		get, err := localca.LoadKeyPair(*cert, *key)
		if err != nil {
			return err
		}
		cfg.TLSConfig = localca.ServerConfig(get)
	}
	var rc *requestCounter
	if *onRequest {
		ids := make([]string, len(backends))
		for i, b := range backends {
			ids[i] = b.id
		}
		rc = newRequestCounter(ids)
		cfg.OnRequest = rc.record
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return fmt.Errorf("create proxy: %w", err)
	}
	pools := map[string]bool{}
	for _, b := range backends {
		if pools[b.process()] {
			continue
		}
		pools[b.process()] = true
		if err := p.AddPool(proxy.PoolConfig{Process: b.process()}); err != nil {
			return fmt.Errorf("add pool %s: %w", b.process(), err)
		}
	}
	for _, b := range backends {
		p.Enable(b.process(), b.id, b.addr)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintf(stderr, "proxyserver: listening on http://%s, %d backends: %s\n", *listen, len(backends), backends.String())
	if err := p.ListenAndServe(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("serve on %s: %w", *listen, err)
	}
	if rc != nil {
		fmt.Fprintf(stderr, "proxyserver: OnRequest heard of %d requests\n", rc.total())
	}
	for _, st := range p.Stats() {
		fmt.Fprintf(stderr, "proxyserver: %s: %d requests, %d connections opened (%d in the socket of a closed one), %d failures\n",
			st.ID, st.Requests, st.Connects, st.Redials, st.Failures)
	}
	return nil
}
