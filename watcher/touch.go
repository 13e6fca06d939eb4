package watcher

import (
	"os"
	"time"
)

// touchSlack is how far apart a file's modification and change times may be
// for an attribute change to count as a touch. Linux sets both from one clock
// reading when a program asks for "now" (touch, Python's Path.touch,
// utimensat with UTIME_NOW), so there they are equal; the slack allows for a
// filesystem that reads the clock twice, and stays far below the kernel's
// timestamp tick (measured 4 ms here), so that a chmod one tick after a
// write does not pass for a touch.
const touchSlack = 50 * time.Microsecond

// touched reports whether an attribute change (fsnotify's Chmod: IN_ATTRIB,
// kqueue's NOTE_ATTRIB) of the file at path was a touch, which users run to
// ask for a reload. The event itself does not say which attribute changed.
// A touch sets the modification time to now, and with it the change time;
// a chmod, chown, hard link or extended attribute sets only the change time
// and leaves the modification time where the last write put it. So equal
// times mean a touch, and pure permission noise (chmod -R over a tree, a
// backup tool's xattrs) causes no reload storm. A touch to an explicit time
// in the past (touch -d) is not taken as a request. A chmod within the same
// timestamp tick as a write looks like a touch; the write is reported anyway,
// in the same batch. Where the platform has no change time (ctimeOf fails),
// attribute changes are ignored as before.
func touched(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	ctime, ok := ctimeOf(fi)
	if !ok {
		return false
	}
	d := ctime.Sub(fi.ModTime())
	return d >= -touchSlack && d <= touchSlack
}
