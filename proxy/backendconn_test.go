package proxy

import (
	"net"
	"testing"
)

// TestPortableBackendConns runs forwarding on netConns, the implementation every
// OS but Linux uses, here on Linux: keep-alive reuse, an instance that closes
// each connection, and an idle connection the instance closed.
func TestPortableBackendConns(t *testing.T) {
	t.Parallel()
	tp := startProxyWith(t, Config{}, func(p *Proxy) { p.portableConns = true; p.staleAfter = 0 })
	tp.Enable("web.1", rawBackend(t))
	tp.Enable("web.2", closingServer(t, func(c net.Conn) { c.Close() }))
	cl := newClient(t)
	for i := 0; i < 6; i++ {
		code, id, body := get(t, cl, tp.URL+"/")
		want := "hello"
		if id == "web.2" {
			want = "ok"
		}
		if code != 200 || body != want {
			t.Fatalf("request %d: got %d %s %q, want 200 %q", i, code, id, body, want)
		}
	}
	if st := statsOf(tp.Proxy, "web.1"); st.Connects != 1 {
		t.Errorf("web.1 (keep-alive): got %d connects, want 1", st.Connects)
	}
	if st := statsOf(tp.Proxy, "web.2"); st.Connects != 3 || st.Redials != 0 {
		t.Errorf("web.2 (closes): got %d connects, %d redials; want 3, 0", st.Connects, st.Redials)
	}
}
