package proxy

import (
	"strconv"
	"strings"
	"time"
)

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

// AccessLogLine formats ri as one line of the access log, without a newline:
//
//	12:00:01 GET /cart → web.3 200 12ms id=9f2c01ab-1f
//	12:00:02 GET /cart → web.2 200 3.1ms id=9f2c01ab-20 retried from web.1: refused
//	12:00:05 GET /slow → web.3 504 30.0s timeout id=9f2c01ab-21 fault: timeout
//
// "-" stands for no instance or no status. cmd prints it after a "proxy |"
// prefix in the instance's colour.
func AccessLogLine(ri RequestInfo) string {
	var b strings.Builder
	b.WriteString(ri.Time.Format("15:04:05"))
	b.WriteByte(' ')
	b.WriteString(ri.Method)
	b.WriteByte(' ')
	b.WriteString(ri.Path)
	b.WriteString(" → ")
	b.WriteString(orDash(ri.Instance))
	b.WriteByte(' ')
	if ri.Status == 0 {
		b.WriteByte('-')
	} else {
		b.WriteString(strconv.Itoa(ri.Status))
	}
	b.WriteByte(' ')
	b.WriteString(logDuration(ri.Duration))
	if ri.ErrorClass != "" {
		b.WriteByte(' ')
		b.WriteString(ri.ErrorClass)
	}
	if ri.RequestID != "" {
		b.WriteString(" id=")
		b.WriteString(ri.RequestID)
	}
	if ri.Decision != "" {
		b.WriteByte(' ')
		b.WriteString(ri.Decision)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logDuration is short and readable: "0.4ms", "12ms", "1.2s".
func logDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
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
