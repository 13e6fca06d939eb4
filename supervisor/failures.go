package supervisor

import (
	"errors"
	"fmt"
	"strings"
)

// onExit handles a child that exited on its own: out of rotation at once, then
// restarted per policy with backoff.
func (in *instance) onExit() {
	c := in.child
	exit := c.exitString()
	same, lines := c.filter.exited()
	in.forget(c, in.notReadyError(c), false, false)
	if c.exitCode() == 127 {
		if prog := notFoundProgram(in.s.out.tail(in.spec.ID, 5, c.started)); prog != "" {
			err := notFoundError(in.spec.ID, prog)
			if in.initial && !in.everReady {
				in.apply(event{kind: evGaveUp})
				in.s.fail(err)
				return
			}
			in.s.out.logf("%s", err)
		}
	}
	if !in.readyAt.IsZero() && in.s.now().Sub(in.readyAt) >= healthyReset {
		in.failures = 0
	}
	in.lastFailure = lines
	switch {
	case in.spec.Restart == "never":
		in.s.out.logf("%s exited (%s); restart policy is never, leaving it down", in.spec.ID, exit)
		in.apply(event{kind: evGaveUp})
	case in.spec.Restart == "on-failure" && c.exitCode() == 0:
		in.s.out.logf("%s exited (%s); restart policy is on-failure, leaving it down", in.spec.ID, exit)
		in.apply(event{kind: evGaveUp})
	default:
		in.scheduleRetry(exit, true, same)
	}
}

// notReadyError is what a caller waiting for c to be ready (start, restart, a
// roll) is told when it exited first: how it ended, where its output is, and who
// holds the port when the output says it was taken.
func (in *instance) notReadyError(c *child) error {
	id := in.spec.ID
	msg := fmt.Sprintf("%s did not become ready: %s (see devcluster logs %s)", id, c.exitReason(), id)
	if in.spec.Port > 0 && mentionsAddrInUse(in.s.out.tail(id, tailLines, c.started)) {
		if pid, cmdline, ok := PortHolder(in.spec.Port); ok {
			msg += fmt.Sprintf("; port %d is held by pid %d (%s)", in.spec.Port, pid, cmdline)
		}
	}
	return errors.New(msg)
}

// mentionsAddrInUse reports whether lines hold a bind failure: Python's "[Errno
// 98] Address already in use", Go's and Node's "address already in use",
// EADDRINUSE.
func mentionsAddrInUse(lines []LogLine) bool {
	for _, l := range lines {
		t := strings.ToLower(l.Text)
		if strings.Contains(t, "address already in use") || strings.Contains(t, "eaddrinuse") {
			return true
		}
	}
	return false
}

// scheduleRetry counts a failure and arms the restart timer. It logs one line per
// failure: the exit, or "still fails the same way" when the child repeated the
// previous failure's output (which was then not shown again), and once that the
// instance is crash-looping.
func (in *instance) scheduleRetry(reason string, exited, same bool) {
	in.failures++
	d := in.s.backoff(in.failures)
	switch {
	case in.failures == crashLoopAfter:
		in.s.out.logf("%s is crash-looping: exited %d times in a row (last: %s); retrying every %s",
			in.spec.ID, in.failures, reason, fmtDelay(in.s.backoffCap()))
	case same:
		in.s.out.logf("%s still fails the same way (attempt %d, next in %s)", in.spec.ID, in.failures, fmtDelay(d))
	case exited:
		in.s.out.logf("%s exited (%s), restarting in %s", in.spec.ID, reason, fmtDelay(d))
	default:
		in.s.out.logf("%s: retrying in %s", in.spec.ID, fmtDelay(d))
	}
	in.apply(event{kind: evRetry, failures: in.failures})
	in.retry.arm(d)
}

// notFoundProgram finds sh's "not found" complaint among lines ("sh: 1: flsk: not
// found" from dash, "flsk: command not found" from bash) and returns the program.
func notFoundProgram(lines []LogLine) string {
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i].Text)
		var rest string
		switch {
		case strings.HasSuffix(t, ": command not found"):
			rest = strings.TrimSuffix(t, ": command not found")
		case strings.HasSuffix(t, ": not found"):
			rest = strings.TrimSuffix(t, ": not found")
		default:
			continue
		}
		if j := strings.LastIndex(rest, ": "); j >= 0 {
			rest = rest[j+2:]
		}
		return strings.TrimSpace(rest)
	}
	return ""
}
