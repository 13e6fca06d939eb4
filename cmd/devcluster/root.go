package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// env is what every command receives instead of reaching for process globals, so that
// tests (and testscript) can run commands in-process with their own streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	cwd            string
	// detached: this process is the daemon of an up -d (up_detach.go).
	detached *detachedChild
}

// exitError carries a specific exit status out of a command; only run maps it to a code.
type exitError struct {
	code int
	err  error
	// quiet: the command has already said it on stdout (probe's "the instances
	// disagree: …"), so run prints no "Error:" line, only the "Try:" hint.
	quiet bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// hintError attaches a "Try:" line to an error for the user.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// usageError is a command used wrongly (an unknown flag, a missing or extra argument):
// exit status 2, as flag parsing in the go command and in POSIX utilities, and one
// line showing a right use.
type usageError struct {
	err     error
	example string
	// jsonFlag: a flag of a command that has --json did not parse, so --json on
	// the command line was never read; run prints the error as JSON itself.
	jsonFlag bool
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usage(err error, example string) error {
	return &usageError{err: err, example: example}
}

// exampleOf is the first line of a command's Example, the one-line right use shown
// under a usage error.
func exampleOf(c *cobra.Command) string {
	for _, line := range strings.Split(c.Example, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if i := strings.Index(line, "   #"); i > 0 {
				line = strings.TrimSpace(line[:i])
			}
			return line
		}
	}
	return c.CommandPath() + " --help"
}

// checkedArgs makes a command's argument check a usage error.
func checkedArgs(c *cobra.Command) {
	check := c.Args
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			if len(args) > 0 && !cmd.HasSubCommands() && strings.HasPrefix(err.Error(), "unknown command") {
				err = fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
			}
			return usage(err, exampleOf(cmd))
		}
		return nil
	}
}

// run is main without the os.Exit, so tests can call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "Error: cannot read the current directory: %v\n", err)
		return 1
	}
	stdout, stderr, detached := detachedStreams(stdout, stderr)
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, cwd: cwd, detached: detached}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var x *exitError
	if !errors.As(err, &x) || !x.quiet {
		fmt.Fprintf(stderr, "Error: %s\n", strings.TrimRight(err.Error(), "\n"))
	}
	var u *usageError
	if errors.As(err, &u) {
		if u.jsonFlag && asksForJSON(args) {
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			enc.Encode(jsonError{Error: err.Error(), Hint: "usage: " + u.example})
		}
		fmt.Fprintf(stderr, "Usage: %s\n", u.example)
		return 2
	}
	var h *hintError
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintf(stderr, "Try: %s\n", h.hint)
	}
	if x != nil {
		return x.code
	}
	return 1
}

// asksForJSON reports whether the command line has --json (before a "--"), for a
// flag error: flag parsing stops at the bad flag, so --json may not have been read.
func asksForJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1":
			return true
		}
	}
	return false
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "devcluster",
		Short: "Run a local multi-instance cluster of your Flask or Django app behind one balancer",
		Long: `devcluster starts N copies of each process in a Procfile (or devcluster.yaml) on
consecutive ports, restarts them when they crash, reloads them one at a time when
their source changes, and balances them behind one HTTP proxy on 127.0.0.1:8080.`,
		Example: `  devcluster up -f Procfile.example -m web=3
  devcluster ps
  devcluster scale web=5`,
		Version:       versionText(debug.ReadBuildInfo()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(
		newUpCmd(e),
		newRunCmd(e),
		newPsCmd(e),
		newRestartCmd(e),
		newStopCmd(e),
		newStartCmd(e),
		newScaleCmd(e),
		newLogsCmd(e),
		newDownCmd(e),
		newInitCmd(e),
		newCheckCmd(e),
		newProbeCmd(e),
		newLoadCmd(e),
		newExportCmd(e),
		newFaultCmd(e),
		newDashboardCmd(e),
		newTrustCmd(e),
		newVersionCmd(e),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err, example: exampleOf(c) + "   (devcluster " + c.Name() + " --help lists every flag)",
			jsonFlag: c.Flags().Lookup("json") != nil}
	})
	for _, c := range root.Commands() {
		checkedArgs(c)
	}
	// Without its own Args and RunE, cobra would answer "devcluster bogus" with the
	// help text and status 0.
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return usage(errors.New(msg), "devcluster up   (devcluster --help lists every command)")
	}
	return root
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, the commit it was built from and the Go version",
		Example: "  devcluster version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(e.stdout, versionText(debug.ReadBuildInfo()))
			return err
		},
	}
}

// versionText is what --version and `devcluster version` print, all of it read
// from the build information the go command embeds, so that it cannot drift from
// the binary: the module version ("(devel)" for a build from a checkout without
// a version, a pseudo-version such as v0.0.0-20261201102300-270ca24f1234 since Go
// 1.24 stamps one from git), the commit and whether the tree had uncommitted
// changes ("modified"), and the Go version.
//
//	devcluster (devel)
//	commit 270ca24f1234… (modified)
//	built with go1.26.0
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "devcluster (devel)\ncommit unknown (no build information in this binary)\n"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var b strings.Builder
	fmt.Fprintf(&b, "devcluster %s\n", cmpOr(info.Main.Version, "(devel)"))
	switch rev := settings["vcs.revision"]; {
	case rev == "":
		b.WriteString("commit unknown (built without VCS information: go run, go test, or -buildvcs=false)\n")
	case settings["vcs.modified"] == "true":
		fmt.Fprintf(&b, "commit %s (modified: built with uncommitted changes)\n", rev)
	default:
		fmt.Fprintf(&b, "commit %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "commit time %s\n", t)
	}
	fmt.Fprintf(&b, "built with %s\n", info.GoVersion)
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
