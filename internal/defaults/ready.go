package defaults

import "time"

// Readiness rules of processes that are not HTTP (devcluster.yaml's ready:).
const (
	// ReadyCommandInterval is the wait between two runs of a ready: {command}
	// that did not exit 0: a command forks a process each time, so it is run
	// far less often than a port is probed.
	ReadyCommandInterval = 250 * time.Millisecond
	// ReadyCommandTimeout bounds one run of a ready: {command}; a run still
	// going then is killed and counts as not ready.
	ReadyCommandTimeout = 5 * time.Second
)

// ReadyKinds lists the keys of ready:, one of which a rule holds.
func ReadyKinds() []string { return []string{"tcp", "command", "log"} }
