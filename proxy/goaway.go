package proxy

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// A WebSocket open on an instance being drained (a reload, a restart, a stop)
// would hold the drain for its whole DrainTimeout and then be cut by the
// server's own stop (uvicorn closes it with 1012). Instead, when the drain
// starts, the tunnel relays the frame the instance is sending to its end, then
// sends the client a close frame with 1001 (going away) and closes the
// instance's side: the drain ends at once, and a client that reconnects is
// balanced to an instance in rotation.

const (
	// goAwayFrameGrace bounds how long a frame the instance is in the middle of
	// may take to end once the drain has started.
	goAwayFrameGrace = time.Second
	// goAwayCloseGrace is how long the client has to answer the close frame
	// before its connection is closed.
	goAwayCloseGrace = time.Second
	wsGoingAway      = 1001
)

// wsCloseGoingAway is a server's close frame: FIN and opcode 8, unmasked,
// status 1001 and its reason.
var wsCloseGoingAway = func() []byte {
	reason := "going away"
	f := []byte{0x88, byte(2 + len(reason)), 0, 0}
	binary.BigEndian.PutUint16(f[2:], wsGoingAway)
	return append(f, reason...)
}()

// awayChan returns the channel closed when b's next drain starts.
func (b *backend) awayChan() <-chan struct{} {
	b.pool.mu.Lock()
	defer b.pool.mu.Unlock()
	if b.away == nil {
		b.away = make(chan struct{})
	}
	return b.away
}

// goAwayLocked tells the tunnels to b that it is going away; pool.mu held.
func (b *backend) goAwayLocked() {
	if b.away != nil {
		close(b.away)
		b.away = nil
	}
}

// frameRelay copies WebSocket frames from an instance to a client, whole, and
// stops at a frame boundary once away is closed.
type frameRelay struct {
	src      *bufio.Reader
	srcConn  deadlineConn
	dst      io.Writer
	stopping atomic.Bool
	graceEnd time.Time // once stopping: when a frame still going is cut
	n        int64     // bytes relayed
}

// relay copies until the instance's side ends (an error, or its close) and
// reports false, or until away is closed: then it reports true at the next
// frame boundary (false when the frame going on does not end in time).
func (r *frameRelay) relay(away <-chan struct{}) (goingAway bool) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-away:
			r.stopping.Store(true)
			_ = r.srcConn.SetReadDeadline(time.Now()) // wakes a read between frames
		case <-done:
		}
	}()
	for {
		if _, err := r.src.Peek(1); err != nil { // between frames
			return r.stopping.Load() && isTimeout(err)
		}
		if err := r.frame(); err != nil {
			return false
		}
		if r.stopping.Load() {
			return true
		}
	}
}

// more reports whether a read that failed with err may be tried again: it
// timed out because a drain started, and the frame going on still has time.
func (r *frameRelay) more(err error) bool {
	if !isTimeout(err) || !r.stopping.Load() {
		return false
	}
	if r.graceEnd.IsZero() {
		r.graceEnd = time.Now().Add(goAwayFrameGrace)
	}
	return time.Now().Before(r.graceEnd) && r.srcConn.SetReadDeadline(r.graceEnd) == nil
}

func (r *frameRelay) peek(n int) ([]byte, error) {
	for {
		b, err := r.src.Peek(n)
		if err == nil || !r.more(err) {
			return b, err
		}
	}
}

// frame relays one frame: its header (2 to 14 bytes), then its payload.
func (r *frameRelay) frame() error {
	b, err := r.peek(2)
	if err != nil {
		return err
	}
	hl, size := 2, uint64(b[1]&0x7f)
	switch size {
	case 126:
		hl += 2
	case 127:
		hl += 8
	}
	if b[1]&0x80 != 0 {
		hl += 4 // masked (a client's frame): an instance sends none, but it is relayed whole
	}
	if b, err = r.peek(hl); err != nil {
		return err
	}
	switch size {
	case 126:
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		size = binary.BigEndian.Uint64(b[2:10])
	}
	if _, err := r.dst.Write(b[:hl]); err != nil {
		return err
	}
	_, _ = r.src.Discard(hl)
	r.n += int64(hl)
	for left := int64(size); left > 0; {
		m, err := io.CopyN(r.dst, r.src, left)
		r.n += m
		left -= m
		if err != nil && !r.more(err) {
			return err
		}
	}
	return nil
}

// goAway ends a tunnel whose instance is drained: the close frame to the
// client, the instance's side closed, the client's once it has answered (or
// after goAwayCloseGrace).
func goAway(client net.Conn, backend io.Closer) {
	_ = client.SetWriteDeadline(time.Now().Add(goAwayCloseGrace))
	_, _ = client.Write(wsCloseGoingAway)
	_ = backend.Close()
	_ = client.SetReadDeadline(time.Now().Add(goAwayCloseGrace))
}
