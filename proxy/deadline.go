package proxy

import "time"

// lazyDeadline keeps a read (or write) deadline armed across requests and moves
// it only when it is later than wanted or more than a little earlier (a
// sixteenth of the timeout, at most a second): a keep-alive connection then
// updates its timer about once a second instead of two or three times per
// request, and a body streamed in many reads or writes as rarely.
type lazyDeadline struct {
	conn  deadlineConn
	write bool      // the write deadline, not the read deadline
	at    time.Time // zero: no deadline
}

type deadlineConn interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

func (l *lazyDeadline) apply(t time.Time) {
	if l.write {
		l.conn.SetWriteDeadline(t)
	} else {
		l.conn.SetReadDeadline(t)
	}
}

func (l *lazyDeadline) set(now time.Time, d time.Duration) {
	want := now.Add(d)
	if !l.at.IsZero() && !l.at.After(want) && l.at.After(want.Add(-min(d/16, time.Second))) {
		return
	}
	l.apply(want)
	l.at = want
}

func (l *lazyDeadline) clear() {
	if !l.at.IsZero() {
		l.apply(time.Time{})
		l.at = time.Time{}
	}
}
