// Package defaults is the one home of devcluster's default values and fixed lists.
// procfile documents and validates them, the supervisor and the proxy apply them to
// zero fields, cmd prints them; each of those refers here instead of repeating a
// literal, so a default changed in one place is changed everywhere. It imports
// nothing of devcluster's, so every package may use it.
package defaults

import "time"

// The balancing proxy.
const (
	Listen          = "127.0.0.1:8080" // the proxy's listen address
	Strategy        = "roundrobin"
	CookieName      = "DEVCLUSTER_SRV" // the sticky cookie
	Retries         = 3                // attempts on another instance, under the retry rule
	ConnectTimeout  = 2 * time.Second
	ResponseTimeout = 60 * time.Second // to the response head; then 504
	WaitForBackend  = 5 * time.Second  // a request waits this long for a ready instance
)

// Strategies lists the balancing strategies, the default first. The lists are
// functions so that no caller can change a shared slice by accident.
func Strategies() []string {
	return []string{"roundrobin", "leastconn", "random", "source", "uri", "first"}
}

// StickyModes lists the values of proxy.sticky ("" is none).
func StickyModes() []string { return []string{"cookie", "source"} }

// Active health checks.
const (
	HealthInterval = time.Second
	HealthTimeout  = time.Second
	HealthRise     = 1 // good checks to come back into rotation
	HealthFall     = 2 // bad checks to leave it
)

// Processes.
const (
	BasePort    = 5000 // process k gets BasePort + PortStride*k
	PortStride  = 100
	Restart     = "always"
	StopSignal  = "TERM" // without "SIG"
	StopTimeout = 5 * time.Second
)

// RestartPolicies lists the values of a process's restart setting.
func RestartPolicies() []string { return []string{"always", "on-failure", "never"} }
