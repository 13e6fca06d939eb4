package main

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
)

// oneInstance is a dashboard.Cluster of one ready instance.
type oneInstance struct{}

func (oneInstance) Snapshot(context.Context) (dashboard.Snapshot, error) {
	return dashboard.Snapshot{Proxy: "127.0.0.1:8080", Processes: []dashboard.Process{{Name: "web", Instances: 1, Balanced: true}},
		Instances: []dashboard.Instance{{ID: "web.1", Process: "web", State: "ready", Balancer: "up", PID: 4001, Port: 5000, Weight: 1}}}, nil
}
func (oneInstance) Act(context.Context, dashboard.Action) error { return nil }
func (oneInstance) Logs(context.Context, string, int) ([]dashboard.LogLine, error) {
	return nil, nil
}

// TestBrowserOpensDashboardThroughOpenPage: the page `dashboard --open`
// hands the opener (writeOpenPage), opened as a file in real Chromium, lands
// on the dashboard holding the token: the buttons are enabled, and the token
// is out of the address bar.
func TestBrowserOpensDashboardThroughOpenPage(t *testing.T) {
	browsertest.Chromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Config{Cluster: oneInstance{}, Addr: ln.Addr().String(), Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(d)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer func() { d.Close(); srv.Close() }()

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, control.RuntimeDir), 0o700); err != nil {
		t.Fatal(err)
	}
	page, err := writeOpenPage(dir, d.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, "file://"+page)
	p.WaitCell("web.1", "state", "web.1 shown", 30*time.Second, func(s string) bool { return s == "ready" })
	if !tstest.Poll(30*time.Second, func() bool {
		var ok bool
		p.Eval(`document.getElementById("readonly").hidden && !document.querySelector("button[data-action]").disabled`, &ok)
		return ok
	}) {
		p.Screenshot("readonly")
		t.Fatal("the page opened through the file is read-only: it did not get the token")
	}
	var href string
	if err := p.Eval(`location.href`, &href); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(href, d.Token()) || !strings.HasPrefix(href, "http://"+ln.Addr().String()) {
		t.Errorf("address bar: got %q, want the dashboard without the token", href)
	}
}
