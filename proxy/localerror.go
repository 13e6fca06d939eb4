package proxy

import (
	"errors"
	"strconv"
	"syscall"
)

// localResourceError reports whether a connect to an instance failed for want
// of something of devcluster's own (descriptors, buffers, memory, ephemeral
// ports) rather than anything the instance did: such a failure says nothing of
// the instance, so it must not count against it. HAProxy keeps these apart
// too (its "resource" errors): under the same descriptor limit it marks no
// server DOWN.
func localResourceError(err error) bool {
	for _, e := range [...]error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// localResourceHint says what to do about a local resource error.
func localResourceHint(err error) string {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
			return "devcluster is out of file descriptors (limit " + strconv.FormatUint(uint64(lim.Cur), 10) + "; raise ulimit -n, or lower proxy.maxconn)"
		}
		return "devcluster is out of file descriptors (raise ulimit -n, or lower proxy.maxconn)"
	}
	return "devcluster is out of a local resource"
}

// asLocal is err when it is a localResourceError, else nil.
func asLocal(err error) error {
	if localResourceError(err) {
		return err
	}
	return nil
}

// noteLocalCheckError logs, once until a check gets through again, that
// checks could not be sent for a local reason and were skipped.
func (p *Proxy) noteLocalCheckError(detail string, err error) {
	if p.checksSkipped.CompareAndSwap(false, true) {
		p.logf("health checks skipped: %s: %s; not the instances' failure, their states are kept", detail, localResourceHint(err))
	}
}
