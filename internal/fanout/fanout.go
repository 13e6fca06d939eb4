// Package fanout hands every value published to each subscriber without ever
// waiting for one: a subscriber that falls more than its buffer behind loses
// values, and the next value it does get is preceded by a marker that counts
// them. It is the one home of "follow" in devcluster: `devcluster logs -f`
// (the supervisor's instance lines) and `devcluster logs --access` (the
// proxy's requests) — the producer is a child's pipe or a client's
// connection, which must never wait for a slow follower.
package fanout

import (
	"sync"
	"sync/atomic"
)

// DefaultBuffer is how many values a subscriber may lag behind when
// Hub.Buffer is 0.
const DefaultBuffer = 256

// Hub is one stream of values and its subscribers. The zero Hub is ready to
// use (with DefaultBuffer and no marker); set its fields before first use.
type Hub[T any] struct {
	// Buffer is how many values a subscriber may lag behind before values are
	// dropped for it: DefaultBuffer when 0.
	Buffer int
	// Marker, when set, makes the value that stands before next where dropped
	// values were lost ("[devcluster: 5 lines dropped, reader too slow]").
	Marker func(dropped int, next T) T

	n      atomic.Int32 // subscribers, for a Publish that costs one load with none
	mu     sync.Mutex
	subs   map[*Sub[T]]struct{}
	closed bool
}

// Sub is one subscriber: it reads C until C is closed (by Unsubscribe or Close).
type Sub[T any] struct {
	C       <-chan T
	ch      chan T
	want    func(T) bool // nil: every value
	dropped int          // guarded by Hub.mu
}

// Subscribe returns a subscriber that gets every value published from now on
// for which want is true (every value when want is nil). On a closed Hub its
// channel is closed at once.
func (h *Hub[T]) Subscribe(want func(T) bool) *Sub[T] {
	size := h.Buffer
	if size <= 0 {
		size = DefaultBuffer
	}
	ch := make(chan T, size)
	s := &Sub[T]{C: ch, ch: ch, want: want}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return s
	}
	if h.subs == nil {
		h.subs = make(map[*Sub[T]]struct{})
	}
	h.subs[s] = struct{}{}
	h.n.Add(1)
	return s
}

// Unsubscribe stops s's values and closes its channel; a second call, or one
// after Close, does nothing.
func (h *Hub[T]) Unsubscribe(s *Sub[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.n.Add(-1)
		close(s.ch)
	}
}

// Subscribers is how many subscribe now: one atomic load.
func (h *Hub[T]) Subscribers() int { return int(h.n.Load()) }

// Publish hands v to every subscriber that wants it, dropping it for those
// whose buffer is full; it never blocks.
func (h *Hub[T]) Publish(v T) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.want != nil && !s.want(v) {
			continue
		}
		if s.dropped > 0 && h.Marker != nil {
			select {
			case s.ch <- h.Marker(s.dropped, v):
				s.dropped = 0
			default:
				s.dropped++
				continue
			}
		}
		select {
		case s.ch <- v:
		default:
			s.dropped++
		}
	}
}

// Close closes every subscriber's channel; later subscribers get a closed one.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		close(s.ch)
	}
	clear(h.subs)
	h.n.Store(0)
	h.closed = true
}
