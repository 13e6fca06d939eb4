package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"

	"github.com/devcluster/devcluster/internal/fanout"
	"github.com/devcluster/devcluster/internal/linebuf"
)

// maxLineBytes is where an endless line is cut, so one child printing megabytes
// without a newline neither grows memory nor holds the terminal.
const maxLineBytes = 64 << 10

// followBuffer is how many lines a Follow subscriber may lag behind before lines
// are dropped for it (children never wait for a slow reader).
const followBuffer = fanout.DefaultBuffer

// palette is the per-instance prefix colours, assigned in order of first output.
var palette = []color.Attribute{
	color.FgCyan, color.FgYellow, color.FgGreen, color.FgMagenta, color.FgBlue,
	color.FgHiCyan, color.FgHiYellow, color.FgHiGreen, color.FgHiMagenta, color.FgHiBlue, color.FgRed,
}

// output multiplexes every child's lines onto Output and devcluster's own messages
// onto Log. One mutex, taken around each whole-line write, is what keeps lines from
// different children from tearing or interleaving.
type output struct {
	mu     sync.Mutex
	out    io.Writer
	log    io.Writer
	own    []*linebuf.Writer // the writers unblocked made, closed by closeAll
	color  bool
	now    func() time.Time
	size   int
	rings  map[string]*ring
	colors map[string]*color.Color
	follow fanout.Hub[LogLine] // Follow's subscribers
}

// subscriber is one Follow: its lines arrive on ch.
type subscriber struct {
	sub *fanout.Sub[LogLine]
	ch  <-chan LogLine
}

func newOutput(out, log io.Writer, useColor bool, now func() time.Time, size int) *output {
	if out == nil {
		out = io.Discard
	}
	if log == nil {
		log = io.Discard
	}
	o := &output{
		color: useColor, now: now, size: size,
		rings:  make(map[string]*ring),
		colors: make(map[string]*color.Color),
		follow: fanout.Hub[LogLine]{Buffer: followBuffer, Marker: func(n int, next LogLine) LogLine {
			return LogLine{ID: next.ID, Time: next.Time, Text: fmt.Sprintf("[devcluster: %d lines dropped, reader too slow]", n)}
		}},
	}
	o.out, o.log = o.unblocked(out), o.unblocked(log)
	return o
}

// unblocked returns w as a writer that never makes the instances wait: an
// *os.File (a terminal paused with Ctrl-S, a FIFO or pipe nobody reads) is
// given a linebuf.Writer, which queues a bounded number of lines and drops the
// rest with a counted marker, so that show and logf, which hold o.mu, never
// wait for a reader, and every child's pipe is always drained (issue 21 item 1).
// Any other writer (cmd passes its own linebuf.Writer, tests a buffer) is the
// caller's to keep quick.
func (o *output) unblocked(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return w
	}
	lw := linebuf.New(f, linebuf.Config{})
	o.own = append(o.own, lw)
	return lw
}

// logf writes one "devcluster | ..." line to Log.
func (o *output) logf(format string, args ...any) {
	line := "devcluster | " + fmt.Sprintf(format, args...) + "\n"
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(o.log, line)
}

// logBlock writes several "devcluster | ..." lines in one piece.
func (o *output) logBlock(lines []string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("devcluster | ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(o.log, b.String())
}

// line records one line of id's output and shows it at once.
func (o *output) line(id, text string) { o.show(o.record(id, text)) }

// record keeps one line of id's output in id's ring buffer (what Logs and the
// failure messages read) and returns it for show.
func (o *output) record(id, text string) LogLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	ll := LogLine{ID: id, Time: o.now(), Text: text}
	r := o.rings[id]
	if r == nil {
		r = &ring{buf: make([]LogLine, 0, min(o.size, 64)), size: o.size}
		o.rings[id] = r
	}
	r.add(ll)
	return ll
}

// show writes a recorded line, prefixed, on Output and hands it to every follower.
// Recording and showing are apart so that a repeated traceback can be kept for
// Logs without being shown again (see repeatFilter).
func (o *output) show(ll LogLine) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := ll.ID
	prefix := fmt.Sprintf("%s %s |", ll.Time.Format("15:04:05"), id)
	if o.color {
		c, ok := o.colors[id]
		if !ok {
			c = color.New(palette[len(o.colors)%len(palette)])
			c.EnableColor()
			o.colors[id] = c
		}
		prefix = c.Sprint(prefix)
	}
	_, _ = io.WriteString(o.out, prefix+" "+ll.Text+"\n")
	o.follow.Publish(ll)
}

// tail returns up to n of id's lines recorded at or after since.
func (o *output) tail(id string, n int, since time.Time) []LogLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.rings[id]
	if r == nil {
		return nil
	}
	var lines []LogLine
	for _, l := range r.lines() {
		if !l.Time.Before(since) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// logs returns the last n lines of each id (every id when ids is empty), merged in
// time order. n <= 0 means everything buffered.
func (o *output) logs(ids []string, n int) []LogLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(ids) == 0 {
		for id := range o.rings {
			ids = append(ids, id)
		}
	}
	var all []LogLine
	for _, id := range ids {
		r := o.rings[id]
		if r == nil {
			continue
		}
		l := r.lines()
		if n > 0 && len(l) > n {
			l = l[len(l)-n:]
		}
		all = append(all, l...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all
}

// subscribe returns a subscriber that gets every new line of ids (all when empty).
// The channel is closed by unsubscribe or closeAll.
func (o *output) subscribe(ids []string) *subscriber {
	var want func(LogLine) bool
	if len(ids) > 0 {
		set := make(map[string]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		want = func(l LogLine) bool { return set[l.ID] }
	}
	sub := o.follow.Subscribe(want)
	return &subscriber{sub: sub, ch: sub.C}
}

func (o *output) unsubscribe(s *subscriber) { o.follow.Unsubscribe(s.sub) }

// closeAll ends every Follow and writes out what the writers unblocked made
// still hold (bounded: see linebuf.Writer.Close): called when Run returns.
func (o *output) closeAll() {
	o.follow.Close()
	for _, w := range o.own {
		_ = w.Close()
	}
}

// ring is a fixed-size buffer of the latest lines of one instance.
type ring struct {
	buf   []LogLine
	size  int
	start int // index of the oldest line once full
}

func (r *ring) add(l LogLine) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, l)
		return
	}
	r.buf[r.start] = l
	r.start = (r.start + 1) % r.size
}

func (r *ring) lines() []LogLine {
	out := make([]LogLine, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}

// copyLines reads r until EOF or error and hands each line to emit: lines longer
// than maxLineBytes are cut, a final partial line is flushed, and a trailing \r
// (terminals under --pty write \r\n) is dropped.
func copyLines(r io.Reader, emit func(string)) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
			emit(string(b))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
