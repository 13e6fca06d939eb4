package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/control"
)

func newLogsCmd(e *env) *cobra.Command {
	var f clientFlags
	var follow, access bool
	var n int
	cmd := &cobra.Command{
		Use:   "logs [PROCESS | INSTANCE ...]",
		Short: "Print recent output of instances, and follow it with -f",
		Example: `  devcluster logs -n 5 web.1
  devcluster logs -f web      # follow; the manifest flag is --file here
  devcluster logs --access    # follow the proxy's access log, one line per request`,
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
			if access {
				return followAccess(cmd.Context(), c, args, f.json, enc, e.stdout)
			}
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
	cmd.Flags().BoolVar(&access, "access", false, "follow the proxy's access log instead (only these processes or instances when named); up needs no --access-log for it")
	cmd.MarkFlagsMutuallyExclusive("access", "follow")
	cmd.MarkFlagsMutuallyExclusive("access", "lines")
	jsonErrors(e, cmd, &f)
	return cmd
}

// followAccess prints every request the cluster's proxy ends from now on, as
// up --access-log prints them ("12:00:01 proxy | GET /cart → web.3 200 12ms"),
// or one control.Request per line with --json. Named targets keep the
// requests whose instance or process is one of them. It always follows (the
// proxy keeps no history of requests), until Ctrl-C or the cluster stops.
func followAccess(ctx context.Context, c *control.Client, targets []string, asJSON bool, enc *json.Encoder, out io.Writer) error {
	return c.AccessLog(ctx, func(r control.Request) error {
		if len(targets) > 0 && !slices.Contains(targets, r.Instance) && !slices.Contains(targets, r.Process) {
			return nil
		}
		if asJSON {
			return enc.Encode(r)
		}
		_, err := io.WriteString(out, cluster.AccessLine(r))
		return err
	})
}
