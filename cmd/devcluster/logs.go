package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

func newLogsCmd(e *env) *cobra.Command {
	var f clientFlags
	var follow bool
	var n int
	cmd := &cobra.Command{
		Use:   "logs [PROCESS | INSTANCE ...]",
		Short: "Print recent output of instances, and follow it with -f",
		Example: `  devcluster logs -n 5 web.1
  devcluster logs -f web      # follow; the manifest flag is --file here`,
		ValidArgsFunction: completeTargets(e, &f, processesAndInstances),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &f)
			if err != nil {
				return err
			}
			defer c.Close()
			// One JSON object per line (NDJSON), as jq and log shippers read a stream.
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			return c.Logs(cmd.Context(), args, n, follow, func(l control.LogLine) error {
				if f.json {
					return enc.Encode(l)
				}
				_, err := fmt.Fprintf(e.stdout, "%s %s | %s\n", l.Time.Format("15:04:05"), l.ID, l.Text)
				return err
			})
		},
	}
	// -f means follow here, as in tail and docker logs; the manifest is --file.
	cmd.Flags().StringVar(&f.file, "file", "", "manifest of the cluster (default: found from the current directory)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object per line for scripts (errors too, as {\"error\": ...})")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().IntVarP(&n, "lines", "n", 100, "how many recent lines per instance")
	jsonErrors(e, cmd, &f)
	return cmd
}
