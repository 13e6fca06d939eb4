package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/procfile"
)

func newRunCmd(e *env) *cobra.Command {
	var f manifestFlags
	cmd := &cobra.Command{
		Use:   "run COMMAND [ARG...]",
		Short: "Run a one-off command with the manifest's environment and .env, as foreman run and honcho run do",
		Long: `run starts COMMAND once, in the manifest's directory, with the environment the
instances get: this one, then the .env beside the manifest and the -e files. It
prints nothing of its own and exits with COMMAND's exit status (128+N when a
signal N ended it). One argument is a shell command line (sh -c, so $PORT and
pipes work); several are the program and its arguments, run as they are.`,
		Example: `  devcluster run python3 manage.py migrate
  devcluster run 'echo $DATABASE_URL'
  devcluster run -e staging.env python3 -m flask --app app shell`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOneOff(cmd.Context(), e, &f, args)
		},
	}
	// Flags end at COMMAND: devcluster run python3 -c '...' passes -c on.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "manifest to read (default: devcluster.yaml, then Procfile, here or above)")
	cmd.Flags().StringArrayVarP(&f.envFiles, "env", "e", nil, "extra .env file to load (repeatable; .env next to the manifest is always read)")
	return cmd
}

// runOneOff runs args with the project's environment, its stdio the command's,
// and returns its exit status as an exitError that prints nothing.
func runOneOff(ctx context.Context, e *env, f *manifestFlags, args []string) error {
	proj, err := loadProject(e, f)
	if err != nil {
		return err
	}
	for _, w := range proj.warnings {
		fmt.Fprintf(e.stderr, "devcluster | warning: %s\n", w)
	}
	var c *exec.Cmd
	if len(args) == 1 {
		c = exec.Command("/bin/sh", "-c", args[0])
	} else {
		c = exec.Command(args[0], args[1:]...)
	}
	specs := cluster.Specs{Manifest: proj.manifest, BasePort: proj.basePort, Base: pyenvAdjusted(proj, os.Environ()), EnvFiles: proj.envFiles}
	// A process's own env: (devcluster.yaml) is that process's; run has none.
	c.Env = specs.Env(&procfile.Process{})
	c.Dir = proj.manifest.Dir
	c.Stdin, c.Stdout, c.Stderr = e.stdin, e.stdout, e.stderr
	// The terminal sends Ctrl-C (SIGINT) and Ctrl-\ to the whole foreground group,
	// the command included: devcluster only waits for it to handle them. A
	// SIGTERM or SIGHUP sent to devcluster alone is passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127 // as a shell says "command not found"
		}
		return &exitError{code: code, err: fmt.Errorf("run %s: %w", args[0], err)}
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM || s == syscall.SIGHUP {
				_ = c.Process.Signal(s)
			}
		case err := <-done:
			return exitStatusOf(err)
		}
	}
}

// exitStatusOf turns a command's Wait error into devcluster's exit status, as a
// shell reports it: the command's own status, or 128+N for signal N.
func exitStatusOf(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return &exitError{code: code, err: err, quiet: true}
}
