package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// useColor decides colour for one writer: NO_COLOR wins, then FORCE_COLOR, then whether
// the writer is a terminal. stdout and stderr are decided separately, so that
// `devcluster up | tee log` keeps colour on stderr but not in the file.
func useColor(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if v := getenv("FORCE_COLOR"); v != "" && v != "0" && v != "false" {
		return true
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal (a live view belongs there only).
func isTerminal(w io.Writer) bool {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap() // up's stdout, behind its linebuf.Writer
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
