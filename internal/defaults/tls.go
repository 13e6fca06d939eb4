package defaults

import "time"

// HTTPS at the proxy and the local CA (issue 23).
const (
	// HTTPSListen is the address of https_listen when HTTPS is served beside plain
	// HTTP and no address is written (proxy.https_listen: true, or up --https with
	// a listen address already taken by plain HTTP).
	HTTPSListen = "127.0.0.1:8443"

	// DataDirName is devcluster's directory under the user's data directory
	// ($XDG_DATA_HOME, else ~/.local/share): the local CA lives there.
	DataDirName = "devcluster"

	// CAValidity is the life of the local CA, as mkcert's: it is installed by
	// hand (devcluster trust), so it should outlive many projects.
	CAValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is the life of the certificate the proxy serves; short, since
	// renewing it costs nothing and needs no one to install anything.
	LeafValidity = 90 * 24 * time.Hour
	// LeafRenewBefore: a leaf that expires within this is replaced, at start-up
	// or at the first handshake after that moment in a long-running proxy.
	LeafRenewBefore = 30 * 24 * time.Hour
)

// LeafNames are the names every leaf of the local CA holds: the loopback names
// a browser reaches a local proxy by. Chromium and OpenSSL (curl) do not match
// a wildcard directly under a top-level name, so *.localhost covers Go clients
// only; the leaf also holds each name of proxy.hosts explicitly.
func LeafNames() []string { return []string{"localhost", "*.localhost", "127.0.0.1", "::1"} }

// ALPN is what the proxy's TLS listener offers, in preference order: HTTP/2 for
// clients (HTTP/1.1 stays the protocol to the instances).
func ALPN() []string { return []string{"h2", "http/1.1"} }
