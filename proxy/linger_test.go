package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestErrorAnswerNotLostToReset: the proxy answered an oversized head with 431
// and closed with the rest of it unread, which resets the connection: a client
// still writing (Go's Transport, a browser) got "broken pipe" or "connection
// reset" instead of the 431, in most of 20 tries. A lingering close reads the
// rest first.
func TestErrorAnswerNotLostToReset(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{MaxHeaderBytes: 4096})
	startWeb(t, tp, 1)
	cl := newClient(t)
	for i := range 20 {
		req, _ := http.NewRequest("GET", tp.URL+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("b", 200<<10))
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("try %d: got %v, want the 431 answer", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("try %d: got %d, want 431", i+1, resp.StatusCode)
		}
	}
}
