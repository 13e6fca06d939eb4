package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

// action is what one command asks of the running cluster. do returns the targets that
// were already as asked (start: running), which the report names apart.
type action struct {
	use, short, example string
	verb                string // "restarted": the report says "restarted web.2"
	already             string // "was already running": the report says "web.2 was already running"
	args                func(e *env, f *clientFlags) cobra.PositionalArgs
	complete            targetKind
	noCompletion        bool
	// processes: a process name among the arguments stands for each of its
	// instances (stop web, start web), as restart and logs take it.
	processes bool
	do        func(ctx context.Context, c *control.Client, args []string) (already []string, err error)
}

// newActionCmd builds a command that sends one request to the running cluster and
// reports what it did.
func newActionCmd(e *env, a action) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     a.use,
		Short:   a.short,
		Example: a.example,
		Args:    a.args(e, &f),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &f)
			if err != nil {
				return err
			}
			defer c.Close()
			if a.processes {
				if args, err = expandProcesses(cmd.Context(), c, args); err != nil {
					return err
				}
			}
			already, err := a.do(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			return report(e, &f, a, args, already)
		},
	}
	if !a.noCompletion {
		cmd.ValidArgsFunction = completeTargets(e, &f, a.complete)
	}
	addClientFlags(cmd, &f)
	jsonErrors(e, cmd, &f)
	return cmd
}

func anyArgs(*env, *clientFlags) cobra.PositionalArgs { return cobra.ArbitraryArgs }
func noArgs(*env, *clientFlags) cobra.PositionalArgs  { return cobra.NoArgs }

// namedArgs requires at least one argument, and says what it is to be (what, like
// the example) and, when the running cluster answers, which names it has.
func namedArgs(what, like string, kind targetKind) func(e *env, f *clientFlags) cobra.PositionalArgs {
	return func(e *env, f *clientFlags) cobra.PositionalArgs {
		return func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return nil
			}
			msg := fmt.Sprintf("%s needs %s, like %s", cmd.Name(), what, like)
			if names, _ := completeTargets(e, f, kind)(cmd, nil, ""); len(names) > 0 {
				msg += " (this cluster has " + strings.Join(names, ", ") + ")"
			}
			return errors.New(msg)
		}
	}
}

func newRestartCmd(e *env) *cobra.Command {
	return newActionCmd(e, action{
		use:   "restart [PROCESS | INSTANCE ...]",
		short: "Restart processes or instances one at a time, without dropping requests",
		example: `  devcluster restart          # every process
  devcluster restart web      # web.1, web.2, ... in turn
  devcluster restart web.2`,
		verb: "restarted", args: anyArgs, complete: processesAndInstances,
		do: func(ctx context.Context, c *control.Client, args []string) ([]string, error) {
			return nil, c.Restart(ctx, args)
		},
	})
}

func newStopCmd(e *env) *cobra.Command {
	return newActionCmd(e, action{
		use:   "stop PROCESS | INSTANCE...",
		short: "Take instances out of rotation and stop them (they stay stopped)",
		example: `  devcluster stop web.2
  devcluster stop worker      # every instance of worker`,
		verb: "stopped", args: namedArgs("the instances to stop", "web.2", liveInstances), complete: liveInstances,
		processes: true,
		do: func(ctx context.Context, c *control.Client, args []string) ([]string, error) {
			return nil, c.Stop(ctx, args)
		},
	})
}

func newStartCmd(e *env) *cobra.Command {
	return newActionCmd(e, action{
		use:   "start PROCESS | INSTANCE...",
		short: "Start stopped instances again; they rejoin the rotation when ready",
		example: `  devcluster start web.2
  devcluster start worker     # every instance of worker`,
		verb: "started", already: "was already running", processes: true,
		args:     namedArgs("the instances to start", "web.2", stoppedInstances),
		complete: stoppedInstances,
		do:       startInstances,
	})
}

// expandProcesses replaces each argument that names a process of the running
// cluster (and is not an instance's ID) by that process's instances, in the
// cluster's order. Any other argument is left for the cluster to refuse.
func expandProcesses(ctx context.Context, c *control.Client, args []string) ([]string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	of := map[string][]string{}
	for _, in := range st.Instances {
		ids[in.ID] = true
		of[in.Process] = append(of[in.Process], in.ID)
	}
	var out []string
	for _, a := range args {
		if !ids[a] && len(of[a]) > 0 {
			out = append(out, of[a]...)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// startInstances starts ids and returns those that were running already. It waits
// until each is ready: Start answers then, or with the reason it is not.
func startInstances(ctx context.Context, c *control.Client, ids []string) ([]string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, in := range st.Instances {
		running[in.ID] = in.State == control.StateReady || in.State == control.StateRunning || in.State == control.StateStarting
	}
	var already []string
	for _, id := range ids {
		if running[id] {
			already = append(already, id)
		}
	}
	return already, c.Start(ctx, ids)
}

func newScaleCmd(e *env) *cobra.Command {
	return newActionCmd(e, action{
		use:   "scale PROCESS=N...",
		short: "Change the number of instances of a process while it runs",
		example: `  devcluster scale web=5     # web.4, web.5 on the next ports join when ready
  devcluster scale web=2     # drains and stops the highest-numbered first`,
		verb: "scaled", args: namedArgs("PROCESS=N for at least one process", "web=3", scaleProcesses), complete: scaleProcesses,
		do: func(ctx context.Context, c *control.Client, args []string) ([]string, error) {
			for _, a := range args {
				name, count, ok := strings.Cut(a, "=")
				n, err := strconv.Atoi(count)
				if !ok || name == "" || err != nil || n < 0 {
					return nil, withHint(fmt.Errorf("%q is not PROCESS=N", a), "devcluster scale web=3")
				}
				if err := c.Scale(ctx, name, n); err != nil {
					return nil, err
				}
			}
			return nil, nil
		},
	})
}

func newDownCmd(e *env) *cobra.Command {
	return newActionCmd(e, action{
		use:     "down",
		short:   "Stop the running cluster, as Ctrl-C in its terminal does",
		example: `  devcluster down`,
		verb:    "stopped", args: noArgs, noCompletion: true,
		do: func(ctx context.Context, c *control.Client, args []string) ([]string, error) {
			return nil, c.Down(ctx)
		},
	})
}

// report prints the outcome: JSON for scripts, one line for people, and one line
// for each target that already was as asked.
func report(e *env, f *clientFlags, a action, targets, already []string) error {
	skip := map[string]bool{}
	for _, id := range already {
		skip[id] = true
	}
	var done []string
	for _, t := range targets {
		if !skip[t] {
			done = append(done, t)
		}
	}
	if f.json {
		out := map[string]any{"ok": true, "action": a.verb, "targets": targets}
		if a.already != "" {
			out["done"], out["already"] = nonNil(done), nonNil(already)
		}
		return writeJSON(e.stdout, out)
	}
	switch {
	case len(targets) == 0:
		fmt.Fprintln(e.stdout, a.verb)
	case len(done) > 0:
		fmt.Fprintf(e.stdout, "%s %s\n", a.verb, strings.Join(done, " "))
	}
	for _, id := range already {
		fmt.Fprintf(e.stdout, "%s %s\n", id, a.already)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
