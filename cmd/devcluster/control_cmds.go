package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

// newActionCmd builds a command that sends one request to the running cluster and
// reports what it did.
func newActionCmd(e *env, use, short, example, verb string, args cobra.PositionalArgs, do func(ctx context.Context, c *control.Client, args []string) error) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    args,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &f)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := do(cmd.Context(), c, args); err != nil {
				return err
			}
			return report(e, &f, verb, args)
		},
	}
	addClientFlags(cmd, &f)
	return cmd
}

func newRestartCmd(e *env) *cobra.Command {
	return newActionCmd(e, "restart [PROCESS | INSTANCE ...]",
		"Restart processes or instances one at a time, without dropping requests",
		`  devcluster restart          # every process
  devcluster restart web      # web.1, web.2, ... in turn
  devcluster restart web.2`,
		"restarted", cobra.ArbitraryArgs, func(ctx context.Context, c *control.Client, args []string) error {
			return c.Restart(ctx, args)
		})
}

func newStopCmd(e *env) *cobra.Command {
	return newActionCmd(e, "stop INSTANCE...",
		"Take instances out of rotation and stop them (they stay stopped)",
		`  devcluster stop web.2`,
		"stopped", cobra.MinimumNArgs(1), func(ctx context.Context, c *control.Client, args []string) error {
			return c.Stop(ctx, args)
		})
}

func newStartCmd(e *env) *cobra.Command {
	return newActionCmd(e, "start INSTANCE...",
		"Start stopped instances again; they rejoin the rotation when ready",
		`  devcluster start web.2`,
		"started", cobra.MinimumNArgs(1), func(ctx context.Context, c *control.Client, args []string) error {
			return c.Start(ctx, args)
		})
}

func newScaleCmd(e *env) *cobra.Command {
	return newActionCmd(e, "scale PROCESS=N...",
		"Change the number of instances of a process while it runs",
		`  devcluster scale web=5     # web.4, web.5 on the next ports join when ready
  devcluster scale web=2     # drains and stops the highest-numbered first`,
		"scaled", cobra.MinimumNArgs(1), func(ctx context.Context, c *control.Client, args []string) error {
			for _, a := range args {
				name, count, ok := strings.Cut(a, "=")
				n, err := strconv.Atoi(count)
				if !ok || name == "" || err != nil || n < 0 {
					return withHint(fmt.Errorf("%q is not PROCESS=N", a), "devcluster scale web=3")
				}
				if err := c.Scale(ctx, name, n); err != nil {
					return err
				}
			}
			return nil
		})
}

func newDownCmd(e *env) *cobra.Command {
	return newActionCmd(e, "down",
		"Stop the running cluster, as Ctrl-C in its terminal does",
		`  devcluster down`,
		"stopped", cobra.NoArgs, func(ctx context.Context, c *control.Client, args []string) error {
			return c.Down(ctx)
		})
}

// report prints the outcome: JSON for scripts, one line for people.
func report(e *env, f *clientFlags, verb string, targets []string) error {
	if f.json {
		return writeJSON(e.stdout, map[string]any{"ok": true, "action": verb, "targets": targets})
	}
	if len(targets) == 0 {
		fmt.Fprintln(e.stdout, verb)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s %s\n", verb, strings.Join(targets, " "))
	return nil
}
