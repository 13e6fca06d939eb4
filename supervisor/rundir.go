package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The records a Run keeps under Config.RunDir, so that the next `up` can stop what
// a SIGKILLed devcluster left running (see StopLeftovers):
//
//	RUNDIR/pids/run    {"run": RUN-ID, "pid": devcluster's pid, "start": its start time}
//	RUNDIR/pids/web.1  {"pid": ..., "pgid": ..., "start": ..., "command": ...}
//
// An instance's file exists while it has a process; the run file while Run runs.
// Start times are /proc/PID/stat's, in clock ticks after boot: a pid alone may
// have been reused by the time anyone reads the record.
const (
	pidsDir = "pids"
	runFile = "run"
)

type runRecord struct {
	Run   string `json:"run"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

type instanceRecord struct {
	PID     int    `json:"pid"`
	PGID    int    `json:"pgid"`
	Start   uint64 `json:"start"`
	Command string `json:"command"`
}

// pidsPath returns RUNDIR/pids, refusing a symlink there: devcluster would write
// (and the next run remove) files wherever it points.
func pidsPath(runDir string) (string, error) {
	dir := filepath.Join(runDir, pidsDir)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("%s is a symlink; remove it (devcluster keeps its process records there)", dir)
	}
	return dir, nil
}

// writeJSON writes v to path through a temporary file and a rename, so a reader
// never sees half a record.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// recordRun writes the run file, creating RUNDIR/pids. Nothing when RunDir is "".
func (s *Supervisor) recordRun() error {
	if s.cfg.RunDir == "" {
		return nil
	}
	dir, err := pidsPath(s.cfg.RunDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("record the run's processes: %w", err)
	}
	rec := runRecord{Run: s.runID, PID: os.Getpid()}
	if st, err := readProcStat(rec.PID); err == nil {
		rec.Start = st.start
	}
	if err := writeJSON(filepath.Join(dir, runFile), rec); err != nil {
		return fmt.Errorf("record the run's processes: %w", err)
	}
	return nil
}

// removeRunRecord removes the run file and, if nothing else is left, the pids
// directory: Run is returning and every process it started is gone.
func (s *Supervisor) removeRunRecord() {
	if s.cfg.RunDir == "" {
		return
	}
	dir := filepath.Join(s.cfg.RunDir, pidsDir)
	_ = os.Remove(filepath.Join(dir, runFile))
	_ = os.Remove(dir) // fails while records remain, which is what we want
}

// recordInstance writes id's record for its new child c.
func (s *Supervisor) recordInstance(id string, c *child, command string) {
	if s.cfg.RunDir == "" {
		return
	}
	rec := instanceRecord{PID: c.pid, PGID: c.pid, Command: command}
	if st, err := readProcStat(c.pid); err == nil {
		rec.Start, rec.PGID = st.start, st.pgid
	}
	if err := writeJSON(filepath.Join(s.cfg.RunDir, pidsDir, id), rec); err != nil {
		s.out.logf("%s: record pid %d: %v", id, c.pid, err)
	}
}

// removeInstanceRecord removes id's record: its processes are gone.
func (s *Supervisor) removeInstanceRecord(id string) {
	if s.cfg.RunDir == "" {
		return
	}
	err := os.Remove(filepath.Join(s.cfg.RunDir, pidsDir, id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.out.logf("%s: remove its pid record: %v", id, err)
	}
}
