package main

import (
	"fmt"
	"path/filepath"

	"github.com/devcluster/devcluster/localca"
	"github.com/devcluster/devcluster/procfile"
)

// localLeaf returns the local CA's leaf files for a manifest with tls: true
// (no cert and key of its own), making the CA or the leaf the first time as
// up --https would, with proxy.hosts named; "" when the manifest needs none.
// export cannot import localca (its arrows allow procfile only), so the
// command passes the paths in.
func localLeaf(e *env, m *procfile.Manifest) (cert, key string, err error) {
	if !m.Proxy.TLS.On || m.Proxy.TLS.Cert != "" {
		return "", "", nil
	}
	dir, err := localca.DefaultDir(e.getenv)
	if err != nil {
		return "", "", err
	}
	ca, err := localca.Open(localca.Config{Dir: dir, Hosts: m.Proxy.HostNames(), Logf: func(format string, a ...any) {
		fmt.Fprintf(e.stderr, format+"\n", a...)
	}})
	if err != nil {
		return "", "", fmt.Errorf("export: the local CA for tls: true: %w", err)
	}
	return filepath.Join(ca.Dir(), localca.LeafFile), filepath.Join(ca.Dir(), localca.LeafKeyFile), nil
}
