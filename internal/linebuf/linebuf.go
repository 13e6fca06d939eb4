// Package linebuf is a writer for log lines that never makes its callers wait
// for the reader: what is written is queued, up to a bound, and written to the
// destination by a goroutine of its own; when the queue is full, whole writes
// are dropped and counted, and once there is room again a marker line says how
// many ("[devcluster: 12 lines dropped, reader too slow]").
//
// It is what keeps `devcluster up` serving when its stdout is a FIFO nobody
// reads, a pipe to a pager that stopped, or a terminal paused with Ctrl-S:
// the proxy's connections write access-log lines and the supervisor writes its
// instances' lines, and neither may block on a reader (issue 21 item 1). HAProxy
// logs the same way, through a ring that drops.
//
// A destination that fails (EPIPE: the reader has gone) is not written to again;
// OnError hears of it once, and later writes are discarded without a count.
package linebuf

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxLines     = 4096
	DefaultMaxBytes     = 1 << 20
	DefaultFlushTimeout = 2 * time.Second
)

// Config bounds a Writer. Zero values take the defaults.
type Config struct {
	MaxLines int // writes queued at most (a write is normally one line): DefaultMaxLines
	MaxBytes int // bytes queued at most: DefaultMaxBytes
	// Marker is the line written where lines were dropped, without its newline.
	// nil: "[devcluster: N lines dropped, reader too slow]".
	Marker func(dropped int64) string
	// OnError is called once, from the writing goroutine, when the destination
	// fails; nothing is written to it after.
	OnError func(err error)
	// FlushTimeout bounds how long Close waits for the queue to be written:
	// DefaultFlushTimeout.
	FlushTimeout time.Duration
}

// Writer is an io.Writer that queues each Write whole (callers write one line,
// or a block of lines that belong together, per call) and never blocks on the
// destination. Safe for concurrent use. Its goroutine starts with the first
// Write and ends at Close (or, when the destination is stuck in a write, when
// that write returns).
type Writer struct {
	dst io.Writer
	cfg Config

	mu      sync.Mutex
	queue   [][]byte
	bytes   int
	pending int64 // lines dropped since the last marker
	started bool
	closed  bool
	failed  error
	wake    chan struct{}
	done    chan struct{} // closed when the goroutine ends

	dropped atomic.Int64
}

// New returns a Writer that writes to dst. It starts nothing.
func New(dst io.Writer, cfg Config) *Writer {
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Marker == nil {
		cfg.Marker = func(n int64) string { return fmt.Sprintf("[devcluster: %d lines dropped, reader too slow]", n) }
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	return &Writer{dst: dst, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Write queues p and returns len(p), nil at once: p is dropped (and counted)
// when the queue is full, discarded when the destination has failed or the
// Writer is closed.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.mu.Lock()
	if w.closed || w.failed != nil {
		w.mu.Unlock()
		return len(p), nil
	}
	if len(w.queue) >= w.cfg.MaxLines || w.bytes+len(p) > w.cfg.MaxBytes {
		n := int64(max(bytes.Count(p, []byte{'\n'}), 1))
		w.pending += n
		w.mu.Unlock()
		w.dropped.Add(n)
		return len(p), nil
	}
	w.enqueueMarker()
	w.queue = append(w.queue, bytes.Clone(p))
	w.bytes += len(p)
	if !w.started {
		w.started = true
		go w.run()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// enqueueMarker queues the marker for the lines dropped so far, if any: it is
// allowed beyond the bounds, so that the count is never lost. w.mu is held.
func (w *Writer) enqueueMarker() {
	if w.pending == 0 {
		return
	}
	m := []byte(w.cfg.Marker(w.pending) + "\n")
	w.pending = 0
	w.queue = append(w.queue, m)
	w.bytes += len(m)
}

// Dropped is how many lines were dropped in all.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Err is the destination's error, once it has failed.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Unwrap returns the destination (to decide, say, whether it is a terminal).
func (w *Writer) Unwrap() io.Writer { return w.dst }

func (w *Writer) run() {
	defer close(w.done)
	var buf bytes.Buffer
	for {
		w.mu.Lock()
		for len(w.queue) == 0 {
			if w.closed {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		q := w.queue
		w.queue, w.bytes = nil, 0
		w.mu.Unlock()

		buf.Reset()
		for _, b := range q {
			buf.Write(b)
		}
		if _, err := w.dst.Write(buf.Bytes()); err != nil {
			w.mu.Lock()
			w.failed = err
			w.queue, w.bytes = nil, 0
			w.mu.Unlock()
			if w.cfg.OnError != nil {
				w.cfg.OnError(err)
			}
		}
	}
}

// Close writes the marker for lines still counted, waits until the queue is
// written (at most FlushTimeout: a destination stuck in a write is left to
// its write), and stops the goroutine; later writes are discarded. It reports
// the destination's error, if it failed.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.Err()
	}
	if w.failed == nil {
		w.enqueueMarker()
	}
	w.closed = true
	started := w.started
	if !started && len(w.queue) > 0 {
		w.started, started = true, true
		go w.run()
	}
	w.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
	case <-time.After(w.cfg.FlushTimeout):
	}
	return w.Err()
}
