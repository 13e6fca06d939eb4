package loadgen

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// cookieJar is one virtual user's cookies, as a browser keeps them for one
// site: set by Set-Cookie, sent back in a Cookie header on every request,
// dropped when the server expires them (Max-Age ≤ 0 or an Expires in the past).
// Domain and path are not matched: load talks to one origin, and a session
// cookie scoped to a path is still the session.
type cookieJar struct {
	names  []string
	values []string
	header []byte // "name=value; name=value", rebuilt on change
}

// set records one Set-Cookie value received at now.
func (j *cookieJar) set(line string, now time.Time) {
	c, err := http.ParseSetCookie(line)
	if err != nil || c.Name == "" {
		return
	}
	i := slices.Index(j.names, c.Name)
	expired := c.MaxAge < 0 || !c.Expires.IsZero() && !c.Expires.After(now)
	switch {
	case expired && i >= 0:
		j.names = slices.Delete(j.names, i, i+1)
		j.values = slices.Delete(j.values, i, i+1)
	case expired:
		return
	case i >= 0:
		if j.values[i] == c.Value {
			return
		}
		j.values[i] = c.Value
	default:
		j.names = append(j.names, c.Name)
		j.values = append(j.values, c.Value)
	}
	var b strings.Builder
	for k, n := range j.names {
		if k > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(j.values[k])
	}
	j.header = []byte(b.String())
}
