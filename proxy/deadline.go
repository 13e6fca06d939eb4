package proxy

import "time"

// lazyDeadline keeps a read deadline armed across requests and moves it only when
// it is later than wanted or more than a little earlier (a sixteenth of the
// timeout, at most a second): a keep-alive connection then updates its timer
// about once a second instead of two or three times per request.
type lazyDeadline struct {
	conn interface{ SetReadDeadline(time.Time) error }
	at   time.Time // zero: no deadline
}

func (l *lazyDeadline) set(now time.Time, d time.Duration) {
	want := now.Add(d)
	if !l.at.IsZero() && !l.at.After(want) && l.at.After(want.Add(-min(d/16, time.Second))) {
		return
	}
	l.conn.SetReadDeadline(want)
	l.at = want
}

func (l *lazyDeadline) clear() {
	if !l.at.IsZero() {
		l.conn.SetReadDeadline(time.Time{})
		l.at = time.Time{}
	}
}
