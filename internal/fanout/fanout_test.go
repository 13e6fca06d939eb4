package fanout

import (
	"fmt"
	"testing"
)

func marker(n int, next string) string { return fmt.Sprintf("[%d dropped before %s]", n, next) }

// TestSlowSubscriberLosesValuesCounted: Publish never waits; a subscriber whose
// buffer is full loses values, and a marker counts them before the next one.
func TestSlowSubscriberLosesValuesCounted(t *testing.T) {
	t.Parallel()
	h := &Hub[string]{Buffer: 3, Marker: marker}
	s := h.Subscribe(nil)
	for i := range 8 {
		h.Publish(fmt.Sprint(i)) // 0-2 kept, 3-7 dropped
	}
	for i := range 3 {
		if got := <-s.C; got != fmt.Sprint(i) {
			t.Fatalf("value %d: got %q", i, got)
		}
	}
	h.Publish("next")
	for _, want := range []string{"[5 dropped before next]", "next"} {
		if got := <-s.C; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestMarkerItselfDropped: when even the marker does not fit, the value that
// would have followed it is counted too.
func TestMarkerItselfDropped(t *testing.T) {
	t.Parallel()
	h := &Hub[string]{Buffer: 1, Marker: marker}
	s := h.Subscribe(nil)
	h.Publish("a")
	h.Publish("b") // dropped: 1
	h.Publish("c") // marker does not fit: 2
	<-s.C
	h.Publish("d")
	if got, want := <-s.C, "[2 dropped before d]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFilterAndLifecycle(t *testing.T) {
	t.Parallel()
	var h Hub[string]
	web := h.Subscribe(func(v string) bool { return v[0] == 'w' })
	all := h.Subscribe(nil)
	h.Publish("worker")
	h.Publish("api")
	if got := <-web.C; got != "worker" {
		t.Errorf("filtered: got %q", got)
	}
	if len(web.C) != 0 {
		t.Errorf("filtered subscriber got %d values it does not want", len(web.C))
	}
	h.Unsubscribe(web)
	h.Unsubscribe(web) // a second time: nothing
	if _, ok := <-web.C; ok {
		t.Error("channel open after Unsubscribe")
	}
	h.Close()
	for range all.C { // the two values, then closed
	}
	if late := h.Subscribe(nil); late != nil {
		if _, ok := <-late.C; ok {
			t.Error("a subscriber after Close got an open channel")
		}
	}
	h.Publish("after close") // no subscriber, no panic
}
