package main

import (
	"fmt"
	"io"

	"github.com/devcluster/devcluster/cluster"
)

// printHostRows writes the start table's rows of proxy.hosts, after the
// proxy's: each host's URL and its process, over HTTPS when the proxy serves
// it (the hosts answer on plain HTTP beside it too, as every request does).
func printHostRows(tw io.Writer, proj *project, addrs proxyAddrs) {
	listen, https := addrs.plain, false
	if addrs.secure != "" {
		listen, https = addrs.secure, true
	}
	for _, h := range cluster.HostURLs(proj.manifest, listen, https) {
		fmt.Fprintf(tw, "devcluster | host\t%s\t%s\t%s, by Host %s\n", portOf(listen), h.URL, h.Process, h.Host)
	}
}
