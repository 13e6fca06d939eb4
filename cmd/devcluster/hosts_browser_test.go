package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestBrowserOpensHostNames: headless Chromium, with no resolver rule of the
// test's, reaches http://app.localhost:PORT/ and http://api.localhost:PORT/
// (browsers send every *.localhost name to loopback by themselves) and gets
// each host's process; an unknown name shows the HTML page that links to the
// hosts (issue 23 item 3).
func TestBrowserOpensHostNames(t *testing.T) {
	browsertest.Chromium(t)
	tstest.NeedTool(t, "/usr/bin/python3", "sudo apt-get install -y python3")
	pages := t.TempDir()
	for _, name := range []string{"web", "api"} {
		if err := os.MkdirAll(filepath.Join(pages, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pages, name, "index.html"), []byte("<p id=who>the "+name+" process</p>\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const listen = "127.0.0.1:20950"
	manifest := fmt.Sprintf(`proxy:
  hosts:
    app.localhost: web
    api.localhost: api
processes:
  web: exec /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory %[1]s/web $PORT
  api:
    command: exec /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory %[1]s/api $PORT
    proxy: true
`, pages)
	startTestCluster(t, manifest, 20900, listen, nil)

	for host, want := range map[string]string{"app.localhost": "the web process", "api.localhost": "the api process"} {
		p := browsertest.Open(t, "http://"+host+":20950/")
		p.WaitText("#who", host+"'s page", 10*time.Second, func(got string) bool { return got == want })
	}
	p := browsertest.Open(t, "http://nope.localhost:20950/")
	p.WaitText("h1", "the 404 page", 10*time.Second, func(got string) bool { return got == "404 Not Found" })
	var links []string
	if err := p.Eval(`[...document.querySelectorAll("li a")].map((a) => a.href)`, &links); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(links, " "); got != "http://api.localhost:20950/ http://app.localhost:20950/" {
		t.Errorf("the 404 page links to %q, want both hosts", got)
	}
	p.Screenshot("unknown-host")
}
