package proxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxy compares a GET straight to one instance with the same GET
// through the proxy to three, with keep-alive instances and with instances that
// answer Connection: close (as Flask's development server does). Client, proxy and
// instances share the process, so read the ratio, not the absolute figure; the
// bench/ script measures with wrk against HAProxy and nginx.
func BenchmarkProxy(b *testing.B) {
	for _, closeConn := range []bool{false, true} {
		name := "keepalive"
		if closeConn {
			name = "close"
		}
		tp := startProxy(b, Config{})
		var direct string
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("web.%d", i)
			be := startBackend(b, id, func(w http.ResponseWriter, r *http.Request) {
				if closeConn {
					w.Header().Set("Connection", "close")
				}
				io.WriteString(w, "hello from "+id+"\n")
			})
			tp.Enable(id, be.Addr)
			if direct == "" {
				direct = be.URL + "/"
			}
		}
		for _, target := range []struct{ name, url string }{{"direct", direct}, {"proxy", tp.URL + "/"}} {
			b.Run(name+"/"+target.name, func(b *testing.B) {
				c := newClient(b)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := c.Get(target.url)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("got %d, want 200", resp.StatusCode)
							return
						}
					}
				})
				if target.name == "proxy" && closeConn {
					// How many instance connections reused a socket (see redial).
					var connects, redials uint64
					for _, st := range tp.Stats() {
						connects += st.Connects
						redials += st.Redials
					}
					if connects > 0 {
						b.ReportMetric(float64(redials)/float64(connects), "reused/conn")
					}
				}
			})
		}
	}
}

// BenchmarkProxyH2 is GETs over HTTP/2 and TLS, many streams at once on one
// connection of Go's client, through the proxy's server loop (h2conn.go) to
// three instances; bench/proxy.sh MODE=h2 measures it with h2load against
// HAProxy. With -cpuprofile it shows the proxy's cost per stream beside the
// client's and the instances'.
func BenchmarkProxyH2(b *testing.B) {
	tp, ccfg := tlsProxy(b, Config{})
	startWeb(b, tp, 3)
	c := tlsClient(b, ccfg, true, tls.VersionTLS12, 0)
	b.ReportAllocs()
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(tp.URL + "/")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				b.Errorf("got %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
				return
			}
		}
	})
}
