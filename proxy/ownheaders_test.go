package proxy

import (
	"io"
	"net/http"
	"testing"
)

// TestClientInstanceHeaderNotPassedToApp: X-Devcluster-Instance is the proxy's
// answer to the client. A client's own (any case) reached the app, which
// could take it for the proxy's word on where the request went; and an app's
// own on a response came out beside the proxy's. The proxy strips the headers
// it sets, both ways.
func TestClientInstanceHeaderNotPassedToApp(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{})
	got := make(chan http.Header, 1)
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("X-Devcluster-Instance", "web.9")
		io.WriteString(w, "ok")
	})
	tp.Enable("web.1", b.Addr)
	req, _ := http.NewRequest("GET", tp.URL+"/", nil)
	req.Header["X-Devcluster-Instance"] = []string{"web.7"}
	req.Header["x-devcluster-instance"] = []string{"web.8"}
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got
	if v := h.Values("X-Devcluster-Instance"); len(v) != 0 {
		t.Errorf("the app got X-Devcluster-Instance %q from the client, want none", v)
	}
	if v := resp.Header.Values("X-Devcluster-Instance"); len(v) != 1 || v[0] != "web.1" {
		t.Errorf("the client got X-Devcluster-Instance %q, want only the proxy's [web.1]", v)
	}
}
