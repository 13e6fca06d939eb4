package cluster

import (
	"net"

	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/procfile"
)

// HostURL is one host of proxy.hosts as the start table, ps and the dashboard
// show it.
type HostURL struct {
	Host    string // "api.localhost"
	Process string // "api"
	URL     string // "http://api.localhost:8080"
}

// HostsOf lists the hosts of proxy.hosts that route to process, in file order.
func HostsOf(m *procfile.Manifest, process string) []string {
	var hosts []string
	for _, h := range m.Proxy.Hosts {
		if h.Process == process {
			hosts = append(hosts, h.Host)
		}
	}
	return hosts
}

// HostURLs gives each host of proxy.hosts, in file order, its URL on the
// proxy's bound address listen (its port; the name resolves to loopback by
// itself when it ends in .localhost), https:// when that address serves HTTPS.
func HostURLs(m *procfile.Manifest, listen string, https bool) []HostURL {
	_, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return nil
	}
	scheme, defPort := "http://", "80"
	if https {
		scheme, defPort = "https://", "443"
	}
	var us []HostURL
	for _, h := range m.Proxy.Hosts {
		u := scheme + h.Host
		if port != defPort {
			u += ":" + port
		}
		us = append(us, HostURL{Host: h.Host, Process: h.Process, URL: u})
	}
	return us
}

// dashboardHosts are the hosts as the dashboard's page lists them.
func dashboardHosts(m *procfile.Manifest, listen string, https bool) []dashboard.Host {
	var hs []dashboard.Host
	for _, h := range HostURLs(m, listen, https) {
		hs = append(hs, dashboard.Host{Name: h.Host, Process: h.Process, URL: h.URL})
	}
	return hs
}

// allowedHosts are the Host values of proxy.hosts that the dashboard accepts
// besides its addresses and localhost (its DNS-rebinding check): each host
// with the port of each of addrs (HTTPS, and plain HTTP beside it). Any other
// name is still refused.
func allowedHosts(m *procfile.Manifest, addrs []string) []string {
	var hs []string
	for _, addr := range addrs {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		for _, h := range m.Proxy.Hosts {
			hs = append(hs, net.JoinHostPort(h.Host, port))
		}
	}
	return hs
}
