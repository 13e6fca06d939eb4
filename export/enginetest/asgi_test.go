package enginetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// Published ports of the ASGI projects (this test's range: 22650-22699).
const (
	portASGIUvicorn       = 22650 // plain; HTTPS one more
	portASGIGunicornNginx = 22660
)

// asgiApp is a bare ASGI app (the base image has uvicorn and gunicorn, not
// FastAPI): it answers with its instance and what it was told of the scheme,
// the way Starlette's request.url.scheme reads it.
const asgiApp = `import json, os

ME = os.environ.get("PS", "standalone")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    body = json.dumps({"instance": ME, "scheme": scope["scheme"], "proto": headers.get("x-forwarded-proto", "")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
`

// TestComposeASGIBehindTLS (issue 22 item 1, issue 23 item 6) exports an ASGI
// app (uvicorn; gunicorn with uvicorn's worker) with HTTPS at the balancer
// (tls: {cert, key} from a CA the test makes, https_listen) as compose with
// --dockerfile, and runs it on the real engine: the generated Dockerfile
// serves the app on every address of its container, the balancer (HAProxy;
// nginx) has the certificate mounted, and a client that trusts only the
// test's CA gets 20 answers over HTTP/2 spread over the two replicas, each
// replica seeing the scheme as https (its server trusts the balancer's
// X-Forwarded-Proto); docker-compose down leaves nothing.
func TestComposeASGIBehindTLS(t *testing.T) {
	t.Parallel()
	docker := needEngine(t)
	compose := tstest.NeedTool(t, "docker-compose", "apt-get install docker-compose")
	base := baseImage(t)
	dc := devcluster(t)
	for _, tc := range []struct {
		name, balancer, command string
		port                    int
	}{
		{"uvicorn-haproxy", "haproxy", "python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT", portASGIUvicorn},
		{"gunicorn-uvicorn-nginx", "nginx", "python3 -m gunicorn -k uvicorn.workers.UvicornWorker --bind 127.0.0.1:$PORT main:app", portASGIGunicornNginx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pool, cert, key := tstest.Certificate(t, t.TempDir(), "localhost", "127.0.0.1")
			writeFile(t, dir+"/main.py", asgiApp)
			writeFile(t, dir+"/devcluster.yaml", fmt.Sprintf("processes:\n  web:\n    command: %s\n    health: /health\n"+
				"proxy:\n  listen: 127.0.0.1:%d\n  https_listen: 127.0.0.1:%d\n  tls: {cert: %s, key: %s}\n", tc.command, tc.port, tc.port+1, cert, key))
			name := runName("a")
			out := t.TempDir()
			run(t, dir, dc, "export", "compose", "-m", "web=2", "--app", name, "--dockerfile", "--base-image", base,
				"--balancer-image", base, "--balancer", tc.balancer, "-o", out)
			project := []string{"-p", name, "-f", "compose.yaml"}
			t.Cleanup(func() {
				try(out, compose, append(project, "down", "-v", "--remove-orphans", "-t", "3")...)
				removeImages(docker, name)
			})
			start := time.Now()
			run(t, out, compose, append(project, "up", "-d", "--build")...)
			hc := httpsClient(pool)
			url := "https://localhost:" + strconv.Itoa(tc.port+1) + "/"
			seen := map[string]int{}
			var last error
			waitEvery(t, 2*time.Minute, 100*time.Millisecond, func() string {
				return fmt.Sprintf("both replicas answering %s (seen %v, last error %v)", url, seen, last)
			}, func() bool {
				a, err := askTLS(hc, url)
				if last = err; err == nil {
					seen[a.Instance]++
				}
				return len(seen) >= 2
			})
			t.Logf("up and answering over HTTPS in %s", time.Since(start).Round(time.Millisecond))
			counts := map[string]int{}
			for range 20 {
				a, err := askTLS(hc, url)
				if err != nil {
					t.Fatalf("GET %s: %v", url, err)
				}
				if a.Scheme != "https" || a.Proto != "https" || a.HTTP != "HTTP/2.0" {
					t.Errorf("%s answered over %s with scheme %q, X-Forwarded-Proto %q; want HTTP/2.0, https, https", a.Instance, a.HTTP, a.Scheme, a.Proto)
				}
				counts[a.Instance]++
			}
			t.Logf("20 requests over HTTPS: %v", counts)
			if len(counts) != 2 || shares(counts) != "10/10" {
				t.Errorf("20 requests spread %v, want 10/10 over the two replicas", counts)
			}
			run(t, out, compose, append(project, "down", "-v", "-t", "3")...)
			if left := leftovers(docker, "com.docker.compose.project="+name); len(left) > 0 {
				t.Errorf("docker-compose down left %v", left)
			}
		})
	}
}

// tlsAnswer is the ASGI app's answer, with the protocol it came over.
type tlsAnswer struct {
	Instance, Scheme, Proto string
	HTTP                    string `json:"-"`
}

// httpsClient trusts only pool, speaks HTTP/2 when offered, and sends every
// host to 127.0.0.1.
func httpsClient(pool *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		Proxy: nil, ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
}

func askTLS(hc *http.Client, url string) (tlsAnswer, error) {
	var a tlsAnswer
	resp, err := getJSON(hc, url, &a, func() bool { return a.Instance != "" })
	if err != nil {
		return a, err
	}
	a.HTTP = resp.Proto
	return a, nil
}
