package proxy

import "fmt"

// SetDrain puts instance id in HAProxy's drain state (on): it stays up and
// checked, and its sticky clients (cookie or source) are still sent to it, but
// no new client is. Off puts it back into rotation. It is kept across Drain and
// Enable (restarts), until Remove. Ready, in HAProxy's sense, is SetDrain(id,
// false) and SetMaint(id, false).
func (p *Proxy) SetDrain(id string, on bool) error {
	b, err := p.backendOf(id)
	if err != nil {
		return fmt.Errorf("set drain: %w", err)
	}
	pl := b.pool
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if b.drainSet == on {
		return nil
	}
	b.drainSet = on
	if on {
		p.logf("%s is DRAIN: set by the user (sticky clients only)", b.id)
	} else {
		p.logf("%s is no longer draining: set by the user", b.id)
	}
	pl.rebuildLocked()
	return nil
}

// stateName is b's state for Stats; pool.mu held.
func (b *backend) stateName() string {
	if b.drainSet && b.state() == stateUp {
		return "drain"
	}
	return b.state().String()
}
