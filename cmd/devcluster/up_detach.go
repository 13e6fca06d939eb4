package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/devcluster/devcluster/supervisor"
)

// up -d runs `devcluster up` again without -d as a daemon (its own session, its
// stdio /dev/null) and reads its startup messages on a pipe, its fd 3, named by
// this variable; the daemon says on it when every instance is ready (a line
// "\x00ready") or that some are not yet ("\x00notready web.2 (crash-looping)"),
// then writes its own messages to .devcluster/up.log and the instances' output
// nowhere (devcluster logs reads them from the cluster). EOF without either line:
// the daemon ended, and its exit status is up -d's.
const notifyEnv = "DEVCLUSTER_UP_NOTIFY"

// detachReadyWait bounds how long up -d waits for every instance to be ready:
// twice the supervisor's start timeout, so that one failed start and its retry fit.
const detachReadyWait = 60 * time.Second

// upLogName is the daemon's own messages, in the runtime directory.
const upLogName = "up.log"

// switchWriter writes to w until switched to another writer; the daemon's
// stdout and stderr, first the pipe to up -d, then the log and nowhere.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(p); err != nil {
		return len(p), nil // up -d went away early: its messages are lost, the cluster is not
	}
	return len(p), nil
}

func (s *switchWriter) switchTo(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// detachedChild is the daemon's end of up -d: the pipe and the streams to switch.
type detachedChild struct {
	notify         *os.File
	stdout, stderr *switchWriter
}

// detachedStreams makes the daemon of up -d write its output to the pipe fd 3
// (see notifyEnv); elsewhere it returns the streams as they are and nil. The
// variable is removed so that the instances do not inherit it.
func detachedStreams(stdout, stderr io.Writer) (io.Writer, io.Writer, *detachedChild) {
	if os.Getenv(notifyEnv) != "3" {
		return stdout, stderr, nil
	}
	os.Unsetenv(notifyEnv)
	f := os.NewFile(3, "up -d")
	syscall.CloseOnExec(3) // no instance inherits it
	d := &detachedChild{notify: f, stdout: &switchWriter{w: f}, stderr: &switchWriter{w: f}}
	return d.stdout, d.stderr, d
}

// ready is what the daemon does once every instance is ready (notReady empty)
// or the wait for them is over: its messages go to .devcluster/up.log from now
// on, the instances' output nowhere, and up -d hears which it was.
func (d *detachedChild) ready(runDir, notReady string) {
	if log, err := os.OpenFile(filepath.Join(runDir, upLogName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		d.stderr.switchTo(log) // open until the daemon exits
	} else {
		fmt.Fprintf(d.notify, "devcluster | cannot write %s: %v; the cluster's own messages are lost\n", upLogName, err)
		d.stderr.switchTo(io.Discard)
	}
	d.stdout.switchTo(io.Discard)
	if notReady == "" {
		io.WriteString(d.notify, "\x00ready\n")
	} else {
		io.WriteString(d.notify, "\x00notready "+notReady+"\n")
	}
	d.notify.Close()
}

// waitReady calls d.ready once every instance is ready, or after
// detachReadyWait with those that are not, unless quit closes first.
func waitReady(d *detachedChild, sup *supervisor.Supervisor, runDir string, quit <-chan struct{}) {
	t := time.NewTimer(detachReadyWait)
	defer t.Stop()
	select {
	case <-quit:
	case <-sup.Ready():
		d.ready(runDir, "")
	case <-t.C:
		var not []string
		for _, st := range sup.Status() {
			if st.State != supervisor.StateReady && st.State != supervisor.StateRunning {
				not = append(not, st.ID+" ("+st.State+")")
			}
		}
		d.ready(runDir, strings.Join(not, ", "))
	}
}

// detachedArgs are up's flags and arguments as given, without -d, for the daemon.
func detachedArgs(cmd *cobra.Command, args []string) []string {
	out := []string{"up"}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if fl.Name == "detach" {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+fl.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+fl.Name+"="+fl.Value.String())
	})
	return append(append(out, "--"), args...)
}

// startDetached is up -d: it starts the daemon, prints its start-up messages
// (the warnings, the start table) as they come, and returns once every
// instance is ready, saying how to follow the logs and stop the cluster.
func startDetached(ctx context.Context, e *env, cmd *cobra.Command, args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("up -d: find the devcluster binary to run in the background: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("up -d: %w", err)
	}
	defer r.Close()
	daemon := exec.Command(self, detachedArgs(cmd, args)...)
	daemon.Dir = e.cwd
	daemon.Env = append(os.Environ(), notifyEnv+"=3")
	daemon.ExtraFiles = []*os.File{w}
	// Its own session: no terminal's Ctrl-C or hangup reaches it; stdio is /dev/null.
	daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = daemon.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("up -d: start devcluster in the background: %w", err)
	}
	status := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\x00") {
			status = line[1:]
			continue
		}
		fmt.Fprintln(e.stderr, line)
	}
	pid := daemon.Process.Pid
	switch {
	case status == "ready":
		daemon.Process.Release()
		fmt.Fprintf(e.stderr, "devcluster | running in the background (pid %d); its own messages go to %s\n", pid, filepath.Join(".devcluster", upLogName))
		fmt.Fprintf(e.stderr, "devcluster | follow the instances: devcluster logs -f; list them: devcluster ps; stop them: devcluster down\n")
		return nil
	case strings.HasPrefix(status, "notready "):
		daemon.Process.Release()
		return withHint(fmt.Errorf("not every instance is ready after %s: %s; devcluster keeps running in the background (pid %d)",
			detachReadyWait, strings.TrimPrefix(status, "notready "), pid), "devcluster logs to see why, devcluster down to stop it")
	}
	err = daemon.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// The daemon has printed its "Error:" and "Try:" lines above already.
		return &exitError{code: ee.ExitCode(), err: err, quiet: true}
	}
	if err != nil {
		return fmt.Errorf("up -d: %w", err)
	}
	return errors.New("up -d: devcluster in the background ended before every instance was ready")
}
