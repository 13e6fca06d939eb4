package main

import (
	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

func newPsCmd(e *env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the instances of the running cluster",
		Example: `  devcluster ps
  devcluster ps --json | jq '.instances[] | select(.state != "ready")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &f)
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(e.stdout, st)
			}
			return control.WriteTable(e.stdout, st)
		},
	}
	addClientFlags(cmd, &f)
	return cmd
}
