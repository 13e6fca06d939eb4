package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/devcluster/devcluster/internal/linebuf"
)

// upOutput is up's stdout and stderr, made so that serving never waits on
// whoever reads them (issue 21 item 1): every line of up — the instances'
// output, the access log written from each connection's goroutine, devcluster's
// own messages — goes through a bounded linebuf.Writer, which drops lines with
// a counted "[devcluster: N lines dropped, reader too slow]" marker when the
// reader is behind (a FIFO nobody reads, a pager that stopped, a terminal
// paused with Ctrl-S).
//
// A closed stdout (`devcluster up | head -3`) does not stop the cluster: SIGPIPE
// is handled while up runs, so the write fails with EPIPE instead of killing
// devcluster (and the instances with it, exit 141); up says so once on stderr
// and keeps serving, the instances' lines still kept for `devcluster logs`.
// Ctrl-C or `devcluster down` stops it as always. Handling SIGPIPE (rather than
// ignoring it) leaves the instances' own SIGPIPE at its default: a handled
// signal is reset on exec, an ignored one would be inherited.
type upOutput struct {
	stdout, stderr *linebuf.Writer
	sigpipe        chan os.Signal
}

// stdoutClosed is what up says on stderr when its stdout's reader has gone.
const stdoutClosed = "devcluster | stdout is closed (%v): the instances' output and the access log are no longer shown; " +
	"the cluster keeps serving (devcluster logs shows the instances' lines; Ctrl-C or devcluster down stops it)\n"

func newUpOutput(stdout, stderr io.Writer) *upOutput {
	o := &upOutput{sigpipe: make(chan os.Signal, 1)}
	signal.Notify(o.sigpipe, syscall.SIGPIPE)
	o.stderr = linebuf.New(stderr, linebuf.Config{})
	o.stdout = linebuf.New(stdout, linebuf.Config{OnError: func(err error) {
		fmt.Fprintf(o.stderr, stdoutClosed, err)
	}})
	return o
}

// Close writes out what is still queued (bounded: a reader that never reads
// does not hold up's exit) and stops handling SIGPIPE.
func (o *upOutput) Close() {
	_ = o.stdout.Close()
	_ = o.stderr.Close()
	signal.Stop(o.sigpipe)
}
