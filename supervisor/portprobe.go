package supervisor

import (
	"errors"
	"fmt"
)

// PortBusy reports why 127.0.0.1:port cannot be bound right now, naming the
// holder when /proc tells ("address already in use — held by pid 4121 (python3
// app.py)"), or nil when it can be: the probe Run makes before it starts an
// instance, for `devcluster check` to make the same one without starting anything.
func PortBusy(port int) error {
	if portFree(port) {
		return nil
	}
	if pid, cmdline, ok := PortHolder(port); ok {
		return fmt.Errorf("address already in use — held by pid %d (%s)", pid, cmdline)
	}
	return errors.New("address already in use")
}
