package defaults

// Rolling reload of a process's instances (devcluster.yaml's reload:, in
// Kubernetes' rolling-update terms). One instance at a time and no spare
// instance is the behaviour devcluster always had, and the safest for an app
// that cannot run two versions side by side on more than one instance.
const (
	ReloadMaxUnavailable = 1 // instances out of rotation at once during a reload
	ReloadMaxSurge       = 0 // extra instances started before old ones stop
)
