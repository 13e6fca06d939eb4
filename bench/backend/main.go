// Command backend is a tiny, fast HTTP server for benchmarking devcluster's proxy: it
// answers every request at once with a short body, so that what a benchmark measures is
// the proxy in front of it, not the backend.
//
//	backend -addr 127.0.0.1:18001            # keep-alive, like gunicorn or a Go service
//	backend -addr 127.0.0.1:18001 -close     # Connection: close, like Flask's dev server
//
// Each response carries X-Backend: ADDR so a benchmark can see the balancing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "backend: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:18001", "address to listen on (loopback)")
	closeConn := fs.Bool("close", false, "answer every request with Connection: close (Flask's dev server does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, ln, *closeConn)
}

// serve answers on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, closeConn bool) error {
	srv := &http.Server{
		Handler:           newHandler(ln.Addr().String(), closeConn),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// newHandler builds the one handler: headers and body are prepared once, so a request
// costs the server as little as net/http allows.
func newHandler(addr string, closeConn bool) http.Handler {
	body := []byte("hello from " + addr + "\n")
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Content-Length"] = []string{length}
		h["X-Backend"] = []string{addr}
		if closeConn {
			h["Connection"] = []string{"close"}
		}
		if r.Method == http.MethodHead {
			return
		}
		if r.URL.Path == "/headers" {
			// What a proxy added: the request's header names, one a line.
			names := make([]string, 0, len(r.Header))
			for k := range r.Header {
				names = append(names, k)
			}
			sort.Strings(names)
			delete(h, "Content-Length")
			io.WriteString(w, strings.Join(names, "\n")+"\n")
			return
		}
		w.Write(body)
	})
}
