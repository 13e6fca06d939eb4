package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkClosedLoop is one virtual user's cost per request against a
// loopback server (most of it is the server's and the kernel's; allocs/op is
// the generator's).
func BenchmarkClosedLoop(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Devcluster-Instance", "web.1")
	}))
	defer s.Close()
	g, err := New(Config{URL: s.URL + "/", Connections: 1, Count: b.N, KeepAlive: true, Cookies: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	r := g.Run(context.Background())
	if r.Failed != 0 {
		b.Fatalf("failed %d: %v", r.Failed, r.FailedBy)
	}
}
