package watcher

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"time"
)

// debouncer gathers changed paths into one batch. It holds no timer and
// reads no clock: the caller passes the time of each event and asks when the
// batch is due, so the rules are tested with made-up times.
//
// A batch is due Quiet after its last event (an editor's save is several
// events; a git checkout is hundreds), but never later than Max after its
// first event, so a process that writes continuously cannot hold changes back
// forever.
//
// With holdMissing, a batch that is due while one of its paths does not
// exist is held until Gone after its last event, still within Max: the
// path is likely between an editor's rename-away and the new file (vim
// fsyncs its swap file in between). An event ends the hold.
type debouncer struct {
	quiet, max  time.Duration
	pending     map[string]struct{}
	first, last time.Time

	gone   time.Duration          // hold for a missing path; 0: none
	exists func(path string) bool // nil: no hold
	held   bool                   // the pending batch was found to miss a path
}

func newDebouncer(quiet, max time.Duration) *debouncer {
	return &debouncer{quiet: quiet, max: max, pending: make(map[string]struct{})}
}

// holdMissing makes a due batch wait for a missing path, up to gone after its
// last event; exists says whether a path is there. A gone no longer than the
// quiet time holds nothing.
func (d *debouncer) holdMissing(gone time.Duration, exists func(path string) bool) *debouncer {
	if gone > d.quiet {
		d.gone, d.exists = gone, exists
	}
	return d
}

// add records path as changed at now.
func (d *debouncer) add(path string, now time.Time) {
	if len(d.pending) == 0 {
		d.first = now
	}
	d.last = now
	d.held = false
	d.pending[path] = struct{}{}
}

// drop forgets the pending paths at or below dir: it turned out to be ignored.
func (d *debouncer) drop(dir string) {
	for p := range d.pending {
		if isWithin(p, dir) {
			delete(d.pending, p)
		}
	}
}

// due returns when the pending batch closes; ok is false when nothing is pending.
func (d *debouncer) due() (at time.Time, ok bool) {
	if len(d.pending) == 0 {
		return time.Time{}, false
	}
	at = d.last.Add(d.quiet)
	if d.held {
		at = d.last.Add(d.gone)
	}
	if capAt := d.first.Add(d.max); capAt.Before(at) {
		at = capAt
	}
	return at, true
}

// take returns the pending paths, sorted, if the batch is due at now, and
// starts a new batch. A batch missing a path is held once (see holdMissing):
// take then returns nil and due the later time.
func (d *debouncer) take(now time.Time) []string {
	at, ok := d.due()
	if !ok || now.Before(at) {
		return nil
	}
	if !d.held && d.exists != nil && d.missing() {
		d.held = true
		if at, _ := d.due(); now.Before(at) {
			return nil
		}
	}
	d.held = false
	paths := make([]string, 0, len(d.pending))
	for p := range d.pending {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	clear(d.pending)
	return paths
}

// missing reports whether a pending path does not exist.
func (d *debouncer) missing() bool {
	for p := range d.pending {
		if !d.exists(p) {
			return true
		}
	}
	return false
}

// exists reports whether there is a file or directory at path; a path that
// cannot be checked counts as there, so that it is not held for nothing.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// mergeSorted returns the sorted union of two sorted, duplicate-free lists.
func mergeSorted(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
