package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// Request ids: X-Request-Id is kept when the client sent a usable one, so a
// request can be followed from the client through the proxy into the
// instance's log, and generated otherwise. A generated id is the proxy's
// random prefix and a counter ("9f2c01ab-1f"): unique within a run and across
// runs in practice, with no random bytes to draw per request.

// maxRequestIDLen bounds a client's X-Request-Id (longer ones are replaced).
const maxRequestIDLen = 200

// newIDPrefix returns 8 random hex digits.
func newIDPrefix() string {
	var b [4]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather)
	return hex.EncodeToString(b[:])
}

// validRequestID: 1 to 200 printable ASCII bytes, no spaces, so it can be
// logged and passed on as it is.
func validRequestID(v []byte) bool {
	if len(v) == 0 || len(v) > maxRequestIDLen {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// setRequestID picks fr's request id: the client's first X-Request-Id if it is
// valid, else a new one written into c.idBuf.
func (c *clientConn) setRequestID(fr *fwdReq) {
	for i := range fr.h.fields {
		if f := &fr.h.fields[i]; f.kind == hRequestID {
			if validRequestID(f.value) {
				fr.reqID = f.value
				return
			}
			break
		}
	}
	n := c.p.reqSeq.Add(1)
	b := append(c.idBuf[:0], c.p.idPrefix...) // 8 + 1 + at most 16 bytes: no allocation
	b = append(b, '-')
	fr.reqID = strconv.AppendUint(b, n, 16)
}

// appendMillis appends d in milliseconds with one decimal ("12.3"), as
// Server-Timing's dur takes.
func appendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	tenths := (d + 50*time.Microsecond) / (100 * time.Microsecond)
	b = strconv.AppendInt(b, int64(tenths/10), 10)
	b = append(b, '.')
	return append(b, byte('0'+tenths%10))
}

// writeServerTiming writes "Server-Timing: upstream;dur=…, proxy;dur=…": the
// time the instance took to answer the response head and the proxy's own time
// up to then, so that browser devtools show where the time went.
func (c *clientConn) writeServerTiming(fr *fwdReq) {
	proxyTime := fr.headAt.Sub(fr.start) - fr.upstream
	b := append(c.scratch[:0], "Server-Timing: upstream;dur="...)
	b = appendMillis(b, fr.upstream)
	b = append(b, ", proxy;dur="...)
	b = appendMillis(b, proxyTime)
	b = append(b, '\r', '\n')
	c.scratch = b
	c.bw.Write(b)
}
