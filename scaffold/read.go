package scaffold

import (
	"errors"
	"fmt"

	"github.com/devcluster/devcluster/internal/regularfile"
)

// readSource reads a project file for detection. Only a regular file of at
// most maxScanBytes is read: a named pipe called app.py would block init
// forever in open or read, and a symlink to /dev/zero would grow it until it
// ran out of memory. The open does not block (regularfile.Read), and what is
// not a regular file, or is bigger, is an error, which detection takes as
// "not there".
func readSource(path string) ([]byte, error) {
	data, err := regularfile.Read(path, maxScanBytes)
	var nr *regularfile.NotRegularError
	var tl *regularfile.TooLargeError
	switch {
	case errors.As(err, &nr):
		return nil, fmt.Errorf("%s is not a regular file", path)
	case errors.As(err, &tl):
		return nil, fmt.Errorf("%s is over %d bytes, more than a source file holds", path, maxScanBytes)
	}
	return data, err
}
