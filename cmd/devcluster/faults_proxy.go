package main

import "github.com/devcluster/devcluster/control"

// SetFault hands an HTTP fault to the proxy. It is apart from liveBalancer's
// other methods because it needs the proxy's Fault type (issue 12), which is
// not in this build yet: once proxy.Fault and (*proxy.Proxy).SetFault land,
// this body becomes
//
//	return l.px.SetFault(id, proxy.Fault{Kind: f.Kind, Delay: f.Delay, Jitter: f.Jitter, Percent: f.Percent, Status: f.Status})
func (l liveBalancer) SetFault(id string, f control.Fault) error {
	return notInBuild("proxy", "SetFault")
}
