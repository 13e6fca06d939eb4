package scaffold

import (
	"fmt"
	"io"
	"os"
)

// readSource reads a project file for detection. Only a regular file of at
// most maxScanBytes is read: a named pipe called app.py would block init
// forever in open or read, and a symlink to /dev/zero would grow it until it
// ran out of memory. The open does not block (openFlags), and what is not a
// regular file, or is bigger, is an error, which detection takes as "not
// there".
func readSource(path string) ([]byte, error) {
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
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxScanBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxScanBytes {
		return nil, fmt.Errorf("%s is over %d bytes, more than a source file holds", path, maxScanBytes)
	}
	return data, nil
}
