// Package regularfile is the one bounded read of a user's file: what
// devcluster reads because a user named or placed it (a manifest, an env
// file, a project's sources for init) must be a regular file of bounded size,
// opened without blocking. A named pipe called Procfile or app.py hung
// devcluster in open, and "-f /dev/zero" grew it to 1.1 GB before the runtime
// died out of memory.
//
// The errors are typed, so that each caller words them for its own user.
package regularfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError is Read's refusal of what is not a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind())
}

// Kind names what the file is: "a directory", "a named pipe", "a socket",
// "a character device", "a block device" or "a special file".
func (e *NotRegularError) Kind() string {
	switch m := e.Mode; {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// TooLargeError is the refusal of more than Max bytes.
type TooLargeError struct {
	Name string
	Max  int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is over %d bytes", e.Name, e.Max)
}

// Read reads the file at path: a *NotRegularError for what is not a regular
// file, a *TooLargeError for one of more than max bytes. It opens with
// O_NONBLOCK (openFlags), so that a named pipe with no writer is refused at
// once instead of blocking in open; regular files ignore the flag.
func Read(path string, max int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return ReadAll(path, f, max)
}

// ReadAll reads r to its end, or fails with a *TooLargeError naming name once
// r yields more than max bytes: a regular file may grow between Stat and read,
// and parsers that take any reader need the same bound.
func ReadAll(name string, r io.Reader, max int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, &TooLargeError{Name: name, Max: max}
	}
	return data, nil
}
