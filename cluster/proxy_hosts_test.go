package cluster

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
)

// TestAddPoolsHostOnlyProcesses: processes named in proxy.hosts without a
// prefix of their own are reached by host only, so two of them no longer
// both claim "/" (which AddPool refused: "prefix / is already balanced to web").
func TestAddPoolsHostOnlyProcesses(t *testing.T) {
	t.Parallel()
	const manifest = `proxy:
  hosts:
    app.localhost: web
    api.localhost: api
    www.localhost: web
processes:
  web: a
  api:
    command: b
    proxy: true
  admin:
    command: c
    proxy: {prefix: /admin}
`
	m, err := procfile.ParseYAML(filepath.Join(t.TempDir(), "devcluster.yaml"), strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if got := HostsOf(m, "web"); !reflect.DeepEqual(got, []string{"app.localhost", "www.localhost"}) {
		t.Errorf("HostsOf(web) = %v, want [app.localhost www.localhost]", got)
	}
	px, err := proxy.New(proxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := AddPools(px, m); err != nil {
		t.Errorf("AddPools: %v, want web and api by host and admin on /admin", err)
	}
}
