package procfile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ParseError is one problem in a manifest or env file, located by line so
// that an editor can jump to it. Line 0 means the problem concerns the file
// as a whole (for example: it defines no process).
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "FILE:LINE: message", the form compilers use.
// Control characters of the file name and message are escaped, whatever
// piece of user input a message quotes: the text goes to a terminal.
func (e *ParseError) Error() string {
	file, msg := escapeControls(e.File), escapeControls(e.Msg)
	switch {
	case file == "" && e.Line <= 0:
		return msg
	case e.Line <= 0:
		return file + ": " + msg
	case file == "":
		return fmt.Sprintf("line %d: %s", e.Line, msg)
	}
	return fmt.Sprintf("%s:%d: %s", file, e.Line, msg)
}

// maxShown is how many problems ErrorList.Error prints: enough to fix a file
// in one pass, few enough that a wrong -f (a binary, a log) does not scroll
// the first problems away.
const maxShown = 20

// ErrorList holds every problem found in one parse, in line order, so the
// user can fix a file in one pass instead of one error per run. The parsers
// return an ErrorList (never an empty one) whenever they fail on content.
type ErrorList []*ParseError

// Error prints one problem per line, the first maxShown of them, then
// "and N more problems".
func (l ErrorList) Error() string {
	msgs := make([]string, 0, min(len(l), maxShown+1))
	for _, e := range l[:min(len(l), maxShown)] {
		msgs = append(msgs, e.Error())
	}
	if n := len(l) - maxShown; n == 1 {
		msgs = append(msgs, "and 1 more problem")
	} else if n > 1 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems", n))
	}
	return strings.Join(msgs, "\n")
}

// Unwrap exposes the single problems to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// errorCollector gathers problems for one file.
type errorCollector struct {
	file string
	errs ErrorList
}

func (c *errorCollector) addf(line int, format string, args ...any) {
	c.errs = append(c.errs, &ParseError{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems sorted by line, or nil.
func (c *errorCollector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sortByLine(c.errs)
	return c.errs
}

// sortByLine orders problems by line, keeping the order of equal lines.
func sortByLine(l ErrorList) {
	slices.SortStableFunc(l, func(a, b *ParseError) int { return cmp.Compare(a.Line, b.Line) })
}
