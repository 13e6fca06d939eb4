package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The proxy's HTTP/2 server loop: this goroutine reads and answers the
// connection's frames (SETTINGS, PING, WINDOW_UPDATE, RST_STREAM, GOAWAY) and
// starts a goroutine per stream (h2run.go); h2write.go writes.

const (
	h2MaxStreams   = 250     // SETTINGS_MAX_CONCURRENT_STREAMS, as Go's server
	h2StreamWindow = 1 << 20 // what a stream's request body may send ahead
	h2ConnWindow   = 1 << 20 // and all of them together
	h2MaxFrame     = 16 << 10
)

var errH2Gone = errors.New("http2: the stream or its connection was closed")

// h2sConn is one HTTP/2 client connection.
type h2sConn struct {
	hc     *h2Conn
	tc     *tls.Conn
	ctx    context.Context
	cancel context.CancelFunc
	rf     *http2.Framer // reads; only serve's goroutine uses it

	mu   sync.Mutex
	cond sync.Cond // on mu: send windows opened, output taken, connection gone

	// The writing side, under mu (h2write.go).
	wf      *http2.Framer // writes to out
	out     []byte        // frames not written yet
	spare   []byte
	henc    *hpack.Encoder
	hbuf    outBuf
	kick    chan struct{} // out has something to send now
	wdone   chan struct{} // the writer has ended
	werr    error         // writing failed: the connection is gone
	closing bool          // close once out is written

	sendWin     int64 // the connection's send window
	peerWin     int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame   int   // and its SETTINGS_MAX_FRAME_SIZE
	recvWin     int64 // what the client may still send, all streams together
	recvUnacked int64 // consumed, not yet given back in a WINDOW_UPDATE

	streams map[uint32]*h2sStream
	lastID  uint32
	active  int  // streams running
	goaway  bool // GOAWAY sent or received: no new streams
	idle    *time.Timer

	work chan *h2sStream // to a stream goroutine waiting for one
}

func newH2sConn(hc *h2Conn, tc *tls.Conn) *h2sConn {
	c := &h2sConn{
		hc: hc, tc: tc,
		kick: make(chan struct{}, 1), wdone: make(chan struct{}), work: make(chan *h2sStream),
		sendWin: 65535, peerWin: 65535, peerFrame: h2MaxFrame, recvWin: 65535,
		streams: map[uint32]*h2sStream{},
	}
	c.ctx, c.cancel = context.WithCancel(hc.ctx)
	c.cond.L = &c.mu
	c.rf = http2.NewFramer(nil, bufio.NewReaderSize(tc, 16<<10))
	c.rf.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.rf.MaxHeaderListSize = uint32(hc.p.cfg.MaxHeaderBytes)
	c.rf.SetMaxReadFrameSize(h2MaxFrame)
	c.wf = http2.NewFramer(outWriter{c}, nil)
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// serve reads the connection until it ends, then ends its streams.
func (c *h2sConn) serve() {
	defer c.teardown()
	p := c.hc.p
	c.tc.SetReadDeadline(time.Now().Add(p.cfg.ReadHeaderTimeout))
	var pre [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.tc, pre[:]); err != nil || string(pre[:]) != http2.ClientPreface {
		return // not HTTP/2: nothing to say in a protocol the client does not speak
	}
	c.tc.SetReadDeadline(time.Time{})
	c.mu.Lock()
	c.wf.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(p.cfg.MaxHeaderBytes)},
	)
	c.wf.WriteWindowUpdate(0, h2ConnWindow-65535)
	c.recvWin = h2ConnWindow
	c.idle = time.AfterFunc(p.cfg.IdleTimeout, c.onIdle)
	if c.goaway { // a shutdown came before the preface
		c.wf.WriteGoAway(0, http2.ErrCodeNo, nil)
		c.closing = true
	}
	c.mu.Unlock()
	c.wake()
	go c.writeLoop()
	first := true
	for {
		f, err := c.rf.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.resetStream(se.StreamID, se.Code)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAway(http2.ErrCode(ce))
			} else if errors.Is(err, http2.ErrFrameTooLarge) {
				c.goAway(http2.ErrCodeFrameSize)
			}
			return
		}
		if sf, ok := f.(*http2.SettingsFrame); first && (!ok || sf.IsAck()) {
			c.goAway(http2.ErrCodeProtocol) // the preface's SETTINGS must come first
			return
		}
		first = false
		if code, bad := c.handle(f); bad {
			c.goAway(code)
			return
		}
	}
}

// handle answers one frame; bad reports a connection error.
func (c *h2sConn) handle(f http2.Frame) (code http2.ErrCode, bad bool) {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.mu.Lock()
			c.wf.WritePing(true, f.Data)
			c.mu.Unlock()
			c.wake()
		}
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		if st := c.streams[f.StreamID]; st != nil {
			c.abortLocked(st)
		}
		c.mu.Unlock()
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.goaway = true // the client opens no more streams
		if c.active == 0 {
			c.closing = true
		}
		c.mu.Unlock()
		c.wake()
	case *http2.PushPromiseFrame:
		return http2.ErrCodeProtocol, true // clients do not push
	}
	return 0, false // PRIORITY and unknown frames are ignored
}

func (c *h2sConn) onSettings(f *http2.SettingsFrame) (http2.ErrCode, bool) {
	if f.IsAck() {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	code := http2.ErrCode(0)
	f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			code = http2.ErrCodeProtocol
			if s.ID == http2.SettingInitialWindowSize {
				code = http2.ErrCodeFlowControl
			}
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerWin
			c.peerWin = int64(s.Val)
			for _, st := range c.streams {
				st.sendWin += delta
			}
		case http2.SettingMaxFrameSize:
			c.peerFrame = int(s.Val)
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if code != 0 {
		return code, true
	}
	c.wf.WriteSettingsAck()
	c.cond.Broadcast()
	c.wakeLocked()
	return 0, false
}

func (c *h2sConn) onWindowUpdate(f *http2.WindowUpdateFrame) (http2.ErrCode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if c.sendWin+inc > 1<<31-1 {
			return http2.ErrCodeFlowControl, true
		}
		c.sendWin += inc
	} else if st := c.streams[f.StreamID]; st != nil {
		if st.sendWin+inc > 1<<31-1 {
			c.resetLocked(st.id, http2.ErrCodeFlowControl)
			c.abortLocked(st)
			return 0, false
		}
		st.sendWin += inc
	}
	c.cond.Broadcast()
	return 0, false
}

func (c *h2sConn) onData(f *http2.DataFrame) (http2.ErrCode, bool) {
	n := int64(f.Length)
	data := f.Data()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.recvWin {
		return http2.ErrCodeFlowControl, true
	}
	c.recvWin -= n
	st := c.streams[f.StreamID]
	if st == nil || st.body.ended() {
		// A stream ended or reset: its bytes still count against the
		// connection's window, given back now.
		c.creditLocked(nil, n)
		if st == nil && f.StreamID > c.lastID {
			return http2.ErrCodeProtocol, true // a stream never opened
		}
		return 0, false
	}
	if n > st.recvWin {
		c.resetLocked(st.id, http2.ErrCodeFlowControl)
		c.abortLocked(st)
		c.creditLocked(nil, n)
		return 0, false
	}
	st.recvWin -= n
	if pad := n - int64(len(data)); pad > 0 {
		c.creditLocked(st, pad)
	}
	if !st.body.put(data, f.StreamEnded()) {
		c.resetLocked(st.id, http2.ErrCodeProtocol) // more or less than its Content-Length
		c.abortLocked(st)
	}
	return 0, false
}

// creditLocked gives back n consumed bytes of st (nil: of no stream) in
// WINDOW_UPDATE frames, once they amount to half a window.
func (c *h2sConn) creditLocked(st *h2sStream, n int64) {
	c.recvUnacked += n
	if c.recvUnacked >= h2ConnWindow/2 {
		c.wf.WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvWin += c.recvUnacked
		c.recvUnacked = 0
		c.wakeLocked()
	}
	if st == nil || st.body.ended() {
		return
	}
	st.recvUnacked += n
	if st.recvUnacked >= h2StreamWindow/2 {
		c.wf.WriteWindowUpdate(st.id, uint32(st.recvUnacked))
		st.recvWin += st.recvUnacked
		st.recvUnacked = 0
		c.wakeLocked()
	}
}

// resetLocked sends RST_STREAM.
func (c *h2sConn) resetLocked(id uint32, code http2.ErrCode) {
	if c.werr == nil {
		c.wf.WriteRSTStream(id, code)
		c.wakeLocked()
	}
}

func (c *h2sConn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked(id, code)
	if st := c.streams[id]; st != nil {
		c.abortLocked(st)
	}
}

// abortLocked ends st's forwarding: its context, its body, its writes.
func (c *h2sConn) abortLocked(st *h2sStream) {
	st.reset = true
	st.cancel()
	st.body.fail(errH2Gone)
	c.cond.Broadcast()
}

// goAway sends GOAWAY with code (0: a graceful shutdown) and closes the
// connection once its streams have ended.
func (c *h2sConn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goaway && code == 0 {
		return
	}
	c.goaway = true
	if c.idle == nil {
		return // SETTINGS must go first: serve sends the GOAWAY after them
	}
	if c.werr == nil {
		c.wf.WriteGoAway(c.lastID, code, nil)
	}
	if c.active == 0 || code != 0 {
		c.closing = true
	}
	c.wakeLocked()
}

// onIdle: no stream for IdleTimeout.
func (c *h2sConn) onIdle() {
	c.mu.Lock()
	idle := c.active == 0
	c.mu.Unlock()
	if idle {
		c.goAway(0)
	}
}

// teardown ends every stream once the connection can no longer be read.
func (c *h2sConn) teardown() {
	c.cancel()
	c.mu.Lock()
	if c.idle != nil {
		c.idle.Stop()
	}
	for _, st := range c.streams {
		c.abortLocked(st)
	}
	c.closing = true
	c.wakeLocked()
	started := c.idle != nil
	c.mu.Unlock()
	if started {
		select { // the GOAWAY, if any, goes out first
		case <-c.wdone:
		case <-time.After(time.Second):
		}
	}
	c.tc.Close()
	c.mu.Lock()
	if c.werr == nil {
		c.werr = errH2Gone
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}
