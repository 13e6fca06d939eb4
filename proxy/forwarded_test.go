package proxy

import (
	"net"
	"net/http"
	"testing"
)

// TestClientForwardingHeadersNotTrusted: Forwarded, X-Forwarded-Port,
// -Prefix, -Ssl (and any X-Forwarded-* the proxy does not set) from the client
// used to reach the app, so an app behind Werkzeug's ProxyFix(x_port=1,
// x_prefix=1) could be spoofed. The proxy drops them and sets X-Forwarded-Port
// to the port the client connected to.
func TestClientForwardingHeadersNotTrusted(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	var got http.Header
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() })
	tp.Enable("web.1", b.Addr)
	req, _ := http.NewRequest("GET", tp.URL+"/", nil)
	for k, v := range map[string]string{
		"Forwarded":          "for=203.0.113.7;proto=https",
		"X-Forwarded-Port":   "443",
		"X-Forwarded-Prefix": "/admin",
		"X-Forwarded-Ssl":    "on",
		"X-Forwarded-Server": "evil",
		"X-Forwarded-Proto":  "https",
		"X-Forwarded-Host":   "evil.test",
	} {
		req.Header.Set(k, v)
	}
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(tp.Addr)
	for _, c := range []struct {
		name string
		want []string
	}{
		{"Forwarded", nil},
		{"X-Forwarded-Prefix", nil},
		{"X-Forwarded-Ssl", nil},
		{"X-Forwarded-Server", nil},
		{"X-Forwarded-Port", []string{port}},
		{"X-Forwarded-Proto", []string{"http"}},
		{"X-Forwarded-Host", []string{req.Host}},
	} {
		if g := got.Values(c.name); len(g) != len(c.want) || len(g) == 1 && g[0] != c.want[0] {
			t.Errorf("%s: got %q, want %q", c.name, g, c.want)
		}
	}
}
