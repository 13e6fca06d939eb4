package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestHostRoutesOverTLS: over HTTPS, in HTTP/1.1 and HTTP/2 (where the host
// comes as :authority), the host picks the pool as in plain HTTP, and the
// hosts page names https:// URLs.
func TestHostRoutesOverTLS(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t)
	tp := startProxy(t, Config{TLSConfig: ca.server},
		PoolConfig{Process: "web"}, PoolConfig{Process: "api", Hosts: []string{"api.localhost"}})
	startWeb(t, tp, 1)
	tp.Enable("api.1", startBackend(t, "api.1", nil).Addr)
	_, port, _ := net.SplitHostPort(tp.Addr)
	for _, h2 := range []bool{false, true} {
		// The test's leaf names localhost only: the client checks it against
		// that name and sends the host under test as Host (:authority).
		c := tlsClient(t, &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}, h2, 0, 0)
		wantProto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
		for _, tt := range []struct{ host, want string }{
			{"api.localhost:" + port, "api.1"},
			{"localhost:" + port, "web.1"},
			{"nope.localhost:" + port, "404"},
		} {
			req, _ := http.NewRequest(http.MethodGet, "https://"+tp.Addr+"/x", nil)
			req.Host = tt.host
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s, %s: %v", wantProto, tt.host, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch got := resp.Header.Get("X-Devcluster-Instance"); {
			case resp.Proto != wantProto:
				t.Errorf("%s: got %s, want %s", tt.host, resp.Proto, wantProto)
			case tt.want == "404" && (resp.StatusCode != 404 || !strings.Contains(string(body), "  https://api.localhost:"+port+"/ → api\n")):
				t.Errorf("%s over %s: got %d %q, want 404 with the https:// hosts", tt.host, resp.Proto, resp.StatusCode, body)
			case tt.want != "404" && got != tt.want:
				t.Errorf("%s over %s: got %d from %q, want %s", tt.host, resp.Proto, resp.StatusCode, got, tt.want)
			}
		}
	}
}
