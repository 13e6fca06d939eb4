package procfile

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/devcluster/devcluster/internal/regularfile"
	"github.com/devcluster/devcluster/internal/termsafe"
)

// maxFileSize bounds what devcluster reads from a manifest or env file. The
// largest hand-written Procfile or devcluster.yaml is a few KiB; without a
// bound, "-f /dev/zero" grew devcluster to 1.1 GB before the runtime died
// out of memory.
const maxFileSize = 1 << 20

// maxArgStrlen is Linux's MAX_ARG_STRLEN: the most bytes, with its closing
// NUL, one argument or one "KEY=VALUE" environment string may have. Every
// command goes to the shell as the single argument of "sh -c", so a longer
// command or variable fails only at exec, with "argument list too long".
const maxArgStrlen = 131072

// commandWrapper is room for what the supervisor adds around a command in
// that one argument (its watchdog line and an "exec "), and the NUL.
const commandWrapper = 128

// readFile reads the manifest or env file at path, refusing what is not a
// regular file or is larger than maxFileSize, without blocking on a named
// pipe (regularfile.Read).
func readFile(path string) ([]byte, error) {
	data, err := regularfile.Read(path, maxFileSize)
	return data, fileError(err)
}

// readBounded reads r to its end, or fails once it yields more than
// maxFileSize bytes (a regular file may grow between Stat and read, and the
// Parse functions take any reader).
func readBounded(name string, r io.Reader) ([]byte, error) {
	data, err := regularfile.ReadAll(name, r, maxFileSize)
	return data, fileError(err)
}

// fileError words regularfile's refusals for a manifest or env file.
func fileError(err error) error {
	var nr *regularfile.NotRegularError
	var tl *regularfile.TooLargeError
	switch {
	case errors.As(err, &nr):
		return fmt.Errorf("%s is %s, not a regular file; name the file itself", escapeControls(nr.Path), nr.Kind())
	case errors.As(err, &tl):
		return fmt.Errorf("%s is over 1 MiB, more than a manifest or env file holds; check that it is the right file", escapeControls(tl.Name))
	}
	return err
}

// commandProblem returns what keeps command from running as "sh -c
// command", or "". at describes a byte offset into command for the message
// (" at column 12" in a Procfile, where the column is known).
func commandProblem(name, command string, at func(off int) string) string {
	if len(command)+commandWrapper > maxArgStrlen {
		return fmt.Sprintf("command of %q is %d bytes, over the limit of %d (Linux's MAX_ARG_STRLEN, %d bytes for the one argument of sh -c, less devcluster's wrapper); move it into a script and run the script",
			name, len(command), maxArgStrlen-commandWrapper, maxArgStrlen)
	}
	if i := strings.IndexByte(command, 0); i >= 0 {
		return fmt.Sprintf("command of %q holds a NUL byte%s, which no program can receive; remove it", name, at(i))
	}
	if q, i := unterminatedQuote(command); i >= 0 {
		kind := "single"
		if q == '"' {
			kind = "double"
		}
		return fmt.Sprintf("command of %q has an unterminated %s quote (%c) opened%s, before %s; close it, or write a literal quote as \\%c",
			name, kind, q, at(i), quoteShort(command[i:]), q)
	}
	return ""
}

// envProblem returns what keeps KEY=value from reaching a program, or "".
func envProblem(key, value string) string {
	if n := len(key) + 1 + len(value) + 1; n > maxArgStrlen {
		return fmt.Sprintf("%s is %d bytes, over the %d-byte limit Linux sets on one variable (MAX_ARG_STRLEN, counting %q); keep the value in a file and read it from there",
			key, len(value), maxArgStrlen, key+"=")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Sprintf("%s holds a NUL byte, which no environment variable can; remove it", key)
	}
	return ""
}

// unterminatedQuote scans command as sh does for quotes and returns the
// quote character and offset of one left open, or offset -1. A backslash
// escapes the next byte (outside single quotes), and a "#" starting a word
// begins a comment to the end of the line, where quotes do not count
// ("web: run # don't"). Without this check sh fails at once on every start,
// and the supervisor restarts it forever.
func unterminatedQuote(command string) (byte, int) {
	wordStart := true
	for i := 0; i < len(command); i++ {
		c := command[i]
		switch c {
		case '\\':
			i++
		case '\'':
			j := strings.IndexByte(command[i+1:], '\'')
			if j < 0 {
				return c, i
			}
			i += j + 1
		case '"':
			j := i + 1
			for ; j < len(command) && command[j] != '"'; j++ {
				if command[j] == '\\' {
					j++
				}
			}
			if j >= len(command) {
				return c, i
			}
			i = j
		case '#':
			if wordStart {
				nl := strings.IndexByte(command[i:], '\n')
				if nl < 0 {
					return 0, -1
				}
				i += nl
				wordStart = true
				continue
			}
		}
		wordStart = strings.IndexByte(" \t\n;&|()<>", c) >= 0
	}
	return 0, -1
}

// escapeControls escapes what a terminal would act on in user input quoted
// back in a message: a Procfile line holding "ESC ]0;TITLE BEL" was printed
// verbatim in a hint and set the terminal's title.
func escapeControls(s string) string { return termsafe.Escape(s) }

// shown is s fit to quote back in a message: shortened, control characters
// escaped.
func shown(s string) string { return escapeControls(shorten(s)) }
