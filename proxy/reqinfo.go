package proxy

import "time"

// RequestInfo is one request as the proxy saw it, handed to Config.OnRequest
// once its response has ended: the access log and the dashboard are fed from
// it. Its strings are the hook's to keep.
type RequestInfo struct {
	Time     time.Time // when the response ended
	Instance string    // who answered ("web.2"), or the instance a failure or fault involved; "" if none was chosen
	Process  string    // the pool's process ("web"); "" if no pool matched
	Method   string
	Path     string        // path and query as the client sent them
	Status   int           // as sent to the client; 0 when none was (a reset before the head, a client gone)
	Duration time.Duration // from the request head to the end of the response
	Upstream time.Duration // from sending the request to its response head, on the last attempt; 0 if none came
	// RequestID is the X-Request-Id the instance got and the client got back.
	RequestID string
	// Decision is what the balancer did beyond the usual, "" if nothing:
	// "sticky", "retried from web.1: refused", "fault: delay 300ms",
	// "fault: fail 503", joined by "; ".
	Decision string
	// ErrorClass is why the request failed when it did: "connect" (no instance
	// could be connected to, or none was ready), "timeout" (no response head in
	// time), "reset" (a connection broke before or during the response), "".
	// A 5xx answered by an instance is no error class: see Status.
	ErrorClass string
	BytesIn    int64 // request body bytes read from the client
	BytesOut   int64 // response body bytes written to the client
	Retries    int   // attempts after the first
}

// Error classes of RequestInfo.ErrorClass.
const (
	ErrorConnect = "connect"
	ErrorTimeout = "timeout"
	ErrorReset   = "reset"
)

// addDecision appends one of the balancer's decisions to fr's.
func (fr *fwdReq) addDecision(d string) {
	if fr.decision != "" {
		fr.decision += "; "
	}
	fr.decision += d
}

// report hands fr to Config.OnRequest. It runs only when a hook is set: the
// strings it makes are the only allocations of a request it reports.
func (c *clientConn) report(fr *fwdReq) {
	end := time.Now()
	h := fr.h
	ri := RequestInfo{
		Time:       end,
		Method:     methodString(h.method),
		Path:       string(h.uri),
		Status:     fr.status,
		Duration:   end.Sub(fr.start),
		Upstream:   fr.upstream,
		RequestID:  string(fr.reqID),
		Decision:   fr.decision,
		ErrorClass: fr.errClass,
		BytesIn:    fr.body.n,
		BytesOut:   fr.bytesOut,
		Retries:    fr.retries,
	}
	if fr.sticky {
		ri.Decision = "sticky"
		if fr.decision != "" {
			ri.Decision += "; " + fr.decision
		}
	}
	if b := fr.b; b != nil {
		ri.Instance, ri.Process = b.id, b.pool.cfg.Process
	} else if fr.pool != nil {
		ri.Process = fr.pool.cfg.Process
	}
	c.p.cfg.OnRequest(ri)
}

// methodString returns the common methods without allocating.
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}
