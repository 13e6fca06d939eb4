package supervisor

import (
	"sync"
	"time"
)

// repeatLimit is how many lines of a failed child are kept to compare with the
// next child's output; a longer output is never called "the same".
const repeatLimit = 500

// repeatHold is the longest a child's lines are held back while they repeat a
// failure: a broken save fails within it (an import error, a SyntaxError), and a
// child that lives longer shows its lines, late but complete.
const repeatHold = 5 * time.Second

// repeatFilter decides which lines of one child reach the terminal. A child that
// follows a failed one starts holding its lines back for as long as they repeat,
// line for line, what the failed one printed. If it then fails the same way, the
// held lines are dropped and the instance logs one "still fails the same way"
// line instead: a broken save prints its traceback once, not once per retry.
// Anything different — another line, fewer lines, readiness, a start timeout, a
// stop — releases the held lines in order and the rest flows as usual.
//
// The filter is shared by the goroutine copying the child's output and the
// instance's goroutine; released lines are shown under its lock, so no later line
// can overtake them.
type repeatFilter struct {
	out *output

	mu       sync.Mutex
	prev     []string // the failed child's lines; nil when not holding
	held     []LogLine
	holding  bool
	lines    []string // this child's lines, for the filter of the next child
	overflow bool     // more than repeatLimit lines
}

func newRepeatFilter(out *output, prev []string) *repeatFilter {
	return &repeatFilter{out: out, prev: prev, holding: len(prev) > 0}
}

// add records ll as one of the child's lines and shows it unless it is held.
func (f *repeatFilter) add(ll LogLine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lines) < repeatLimit {
		f.lines = append(f.lines, ll.Text)
	} else {
		f.overflow = true
	}
	if f.holding {
		n := len(f.held)
		if n < len(f.prev) && f.prev[n] == ll.Text {
			f.held = append(f.held, ll)
			return
		}
		f.releaseLocked()
	}
	f.out.show(ll)
}

// restart makes f the filter of a child that starts only now (a standby taking
// over): the lines it printed while it waited were shown and are forgotten, and
// from now on it compares with prev, the failed child's lines, as a new filter
// would.
func (f *repeatFilter) restart(prev []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releaseLocked()
	f.prev, f.holding, f.lines, f.overflow = prev, len(prev) > 0, nil, false
}

// release shows the held lines and stops holding: the child is not repeating a
// failure (it became ready, is slow to start, or is being stopped).
func (f *repeatFilter) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releaseLocked()
}

func (f *repeatFilter) releaseLocked() {
	for _, ll := range f.held {
		f.out.show(ll)
	}
	f.held, f.holding = nil, false
}

// exited is called once the child's output is drained. It reports whether the
// child printed exactly what the failed one did (its lines are then dropped), and
// returns the lines the next child's filter compares with.
func (f *repeatFilter) exited() (same bool, lines []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	same = f.holding && len(f.held) == len(f.prev) && !f.overflow
	if same {
		f.held, f.holding = nil, false
	} else {
		f.releaseLocked()
	}
	if f.overflow {
		return same, nil
	}
	return same, f.lines
}
