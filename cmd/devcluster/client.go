package main

import (
	"encoding/json"
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
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON for scripts")
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
	return enc.Encode(v)
}
