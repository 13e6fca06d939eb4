package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestDashboardOverHTTPS is issue 23's done-when 2: a cluster with proxy.tls
// (the local CA, made in a private data directory), its CA installed by
// devcluster trust into a fresh NSS database, and a real headless Chromium
// whose HOME holds that database loads the dashboard over HTTPS with no
// certificate error and no --ignore-certificate-errors. A click on kill (a
// POST that needs the token and a same-origin https Origin) restarts web.1:
// the dashboard's doors open for its own https page.
func TestDashboardOverHTTPS(t *testing.T) {
	browsertest.Chromium(t)
	tstest.NeedTool(t, "certutil", "sudo apt-get install -y libnss3-tools")
	tstest.NeedTool(t, "python3", "sudo apt-get install -y python3")
	h := newTrustHome(t)
	h.trust(t, "--no-system")
	manifest := "processes:\n  web:\n    command: exec python3 -m http.server --bind 127.0.0.1 $PORT\n    instances: 2\nproxy:\n  tls: true\n"
	const listen = "127.0.0.1:20290"
	_, _, _, dir := startTestClusterEnv(t, manifest, 20220, listen, nil, map[string]string{"XDG_DATA_HOME": h.data})
	c, err := control.Dial(control.SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Dashboard, "https://"+listen+"/") {
		t.Fatalf("dashboard URL %q, want https://%s/…", st.Dashboard, listen)
	}
	url := strings.Replace(st.Dashboard, "127.0.0.1", "localhost", 1)
	p := browsertest.OpenEnv(t, url, "HOME="+h.home)
	var proto string
	if err := p.Eval(`location.protocol + " " + (performance.getEntriesByType("navigation")[0].nextHopProtocol)`, &proto); err != nil {
		t.Fatal(err)
	}
	if proto != "https: h2" {
		t.Errorf("the page came over %q, want \"https: h2\"", proto)
	}
	for _, id := range []string{"web.1", "web.2"} {
		p.WaitCell(id, "state", id+" ready", 30*time.Second, func(s string) bool { return s == "ready" })
	}
	before := p.WaitCell("web.1", "pid", "web.1's pid", 10*time.Second, func(s string) bool { return s != "" })
	p.Click(browsertest.Button("kill", "web.1"))
	p.WaitCell("web.1", "pid", "web.1 restarted with a new pid", 30*time.Second, func(s string) bool { return s != "" && s != before })
}
