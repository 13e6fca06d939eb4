package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
)

// TestBrowserShowsHosts: the page's header links each host of proxy.hosts to
// its URL, with its process.
func TestBrowserShowsHosts(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 1)
	s.c.mu.Lock()
	s.c.snap.Hosts = []Host{{Name: "api.localhost", Process: "api", URL: "http://api.localhost:8080"},
		{Name: "app.localhost", Process: "web", URL: "http://app.localhost:8080"}}
	s.c.mu.Unlock()
	p := browsertest.Open(t, s.d.URL())
	p.WaitText("#hosts", "the hosts", 10*time.Second, func(got string) bool { return got != "" })
	var links []string
	if err := p.Eval(`[...document.querySelectorAll("#hosts a")].map((a) => a.getAttribute("href") + " " + a.textContent)`, &links); err != nil {
		t.Fatal(err)
	}
	want := "http://api.localhost:8080 http://api.localhost:8080 → api|http://app.localhost:8080 http://app.localhost:8080 → web"
	if got := strings.Join(links, "|"); got != want {
		t.Errorf("got links %q, want %q (href, then text)", got, want)
	}
	p.Screenshot("hosts")
}
