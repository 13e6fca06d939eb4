package defaults

import "time"

// File watching: the defaults of the watcher's Config.
//
// Debounce is how long the watcher waits after the last event before it
// closes a batch. It only has to bridge the gaps between the events of one
// save, and those are short. Measured with the system calls of each editor
// replayed on ext4 (BenchmarkEditorSaveGaps in watcher/editorsave_test.go,
// 30 saves each, on a 2-core VM busy with other builds), the largest gap
// between two events on the saved file, with the file present in between:
//
//	vim :w (writebackup, backupcopy=auto)   CREATE → WRITE        31 µs
//	vim in place (backupcopy=yes, /tmp)     truncate → WRITE      66 µs
//	VS Code in place                        O_TRUNC → WRITE       99 µs
//	VS Code atomic (temp + rename)          one event              —
//	JetBrains safe write                    RENAME → CREATE       51 µs (file missing)
//
// The long gaps are those where the file is missing: vim renames app.py to
// app.py~ and fsyncs its swap file before it creates the new app.py, 2 ms in
// the replay and up to 14.5 ms, 132 ms for the real vim 9.0 under strace on
// a busy disk. A fixed debounce cannot bound an fsync, so the watcher holds a
// batch that names a missing path for up to DebounceGoneWait instead (see
// watcher.Config.GoneWait). What remains is the editor being descheduled
// between two system calls, a few milliseconds on a loaded laptop; 50 ms, the
// value of watchexec and watchfiles, is 500 times the largest gap measured
// and 10 times a scheduler slice, and costs 250 ms less per reload than the
// 300 ms it replaces.
const (
	Debounce          = 50 * time.Millisecond
	DebounceMaxWait   = 2 * time.Second        // a batch closes this long after its first event, however busy
	DebounceGoneWait  = 300 * time.Millisecond // a batch naming a missing path waits this long after its last event
	WatchPollInterval = 500 * time.Millisecond // for polled directories (network mounts, inotify limits)
)
