package proxy

import (
	"fmt"
	"strings"
)

// The retry rule, as HAProxy's and net/http's: a request is sent again, to
// another instance where there is one, only when it cannot have reached the
// app:
//
//   - the connection could not be made (retry_on conn-failure, the default), or
//   - it failed on a reused keep-alive connection before any response byte, the
//     instance having closed that connection while it sat idle (always on, as
//     in net/http's Transport; idempotent requests without a body only). The
//     proxy cannot tell that from a request that killed its instance while
//     being answered (an instance killed under load fails its keep-alive
//     connections the same way, and those requests must go elsewhere), so this
//     retry is made once per request: a request that kills its instance on a
//     reused connection can reach one more instance, never all of them.
//
// A request written on a fresh connection is never replayed by default: if it
// crashed its instance (the "query of death"), replaying it would crash the
// others too. RetryOn adds HAProxy's riskier cases for idempotent requests
// without a body: empty-response (closed with no response byte),
// response-timeout (no response head within ResponseTimeout) and 503.

// retryOn is a set of Config.RetryOn values.
type retryOn uint8

const (
	retryConnFailure retryOn = 1 << iota
	retryEmptyResponse
	retryResponseTimeout
	retry503
)

// retryOnNames lists Config.RetryOn's values, as HAProxy spells them.
var retryOnNames = []struct {
	name string
	bit  retryOn
}{
	{"conn-failure", retryConnFailure},
	{"empty-response", retryEmptyResponse},
	{"response-timeout", retryResponseTimeout},
	{"503", retry503},
}

// parseRetryOn reads Config.RetryOn: nil is conn-failure; "none" is nothing.
func parseRetryOn(values []string) (retryOn, error) {
	if len(values) == 0 {
		return retryConnFailure, nil
	}
	var set retryOn
	for _, v := range values {
		if v == "none" {
			if len(values) > 1 {
				return 0, fmt.Errorf("retry_on: none cannot be listed with other values (%s); write none alone, or drop it", strings.Join(values, ", "))
			}
			continue
		}
		found := false
		for _, n := range retryOnNames {
			if v == n.name {
				set |= n.bit
				found = true
			}
		}
		if !found {
			names := make([]string, len(retryOnNames))
			for i, n := range retryOnNames {
				names[i] = n.name
			}
			return 0, fmt.Errorf("retry_on: unknown value %q (want %s or none)", v, strings.Join(names, ", "))
		}
	}
	return set, nil
}

// failure is how one attempt failed, for the retry rule.
type failure uint8

const (
	failConnect  failure = iota // no connection: the request was never sent
	failSend                    // writing the request failed
	failEmpty                   // the connection ended before any response byte
	failResponse                // a malformed or truncated response head: the app saw the request
	failTimeout                 // no response head within ResponseTimeout
	fail503                     // the instance answered 503
)

// replayable: nothing of the request is lost by sending it again and nothing
// of an answer reached the client.
func (fr *fwdReq) replayable() bool {
	return fr.idempotent && !fr.hasBody && !fr.sentInterim
}

// mayRetry applies the rule to an attempt that failed as f on a connection that
// was reused (or new).
func (c *clientConn) mayRetry(f failure, reused bool, fr *fwdReq) bool {
	on := c.p.retryOn
	if fr.staleRetried {
		on &^= retryConnFailure // the request may have reached the app: no more
	}
	switch f {
	case failConnect:
		return on&retryConnFailure != 0
	case failSend, failEmpty:
		if reused && fr.replayable() && !fr.staleRetried {
			fr.staleRetried = true
			return true
		}
		return fr.replayable() && on&retryEmptyResponse != 0
	case failTimeout:
		return fr.replayable() && on&retryResponseTimeout != 0
	case fail503:
		return fr.replayable() && on&retry503 != 0
	}
	return false
}
