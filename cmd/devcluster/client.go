package main

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

// clientFlags are shared by every command that talks to a running cluster.
type clientFlags struct {
	file string
	json bool
}

func addClientFlags(cmd *cobra.Command, f *clientFlags) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "manifest of the cluster (default: found from the current directory)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON for scripts (errors too, as {\"error\": ...})")
}

// dial finds the running cluster of this project and connects to its control socket.
func dial(e *env, f *clientFlags) (*control.Client, error) {
	file := f.file
	dir, err := control.FindProject(e.cwd, file)
	if err != nil {
		return nil, withHint(err, "run the command inside the project, or pass its manifest with -f")
	}
	c, err := control.Dial(control.SocketPath(dir))
	if err != nil {
		return nil, withHint(err, "start the cluster with \"devcluster up\" in another terminal")
	}
	return c, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep "<" and "&" of messages and URLs readable
	return enc.Encode(v)
}

// jsonError is what a command run with --json prints on stdout when it fails.
type jsonError struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"` // the "Try:" line, if any
}

// jsonErrors makes a command with --json print its failure on stdout as one line of
// JSON, {"error": "..."}, so that a script reading stdout always gets JSON: a bad
// argument, no cluster running, or the cluster's refusal alike. stderr keeps the
// "Error:" line for the person watching, and the exit status stays non-zero. (A
// flag that does not parse fails before --json is known, and gets text only.)
func jsonErrors(e *env, cmd *cobra.Command, f *clientFlags) {
	wrap := func(fn func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
		if fn == nil {
			return nil
		}
		return func(c *cobra.Command, args []string) error {
			err := fn(c, args)
			if err != nil && f.json {
				je := jsonError{Error: err.Error()}
				var h *hintError
				if errors.As(err, &h) {
					je.Hint = h.hint
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetEscapeHTML(false)
				enc.Encode(je)
			}
			return err
		}
	}
	cmd.Args = wrap(cmd.Args)
	cmd.RunE = wrap(cmd.RunE)
}
