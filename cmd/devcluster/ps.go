package main

import (
	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

func newPsCmd(e *env) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the instances of the running cluster: process state and the balancer's view",
		Example: `  devcluster ps
  devcluster ps --json | jq '.instances[] | select(.balancer.in_rotation == false)'`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
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
	jsonErrors(e, cmd, &f)
	return cmd
}
