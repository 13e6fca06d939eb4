package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/defaults"
)

// completionTimeout bounds the question a shell completion asks the running cluster:
// a shell waits for it on every Tab, and a cluster that does not answer at once has
// nothing to offer.
const completionTimeout = time.Second

// targetKind says which names a command's completion offers.
type targetKind int

const (
	processesAndInstances targetKind = iota // restart, logs: "web", "web.2"
	liveInstances                           // stop: instances with a running process
	stoppedInstances                        // start: instances without one
	scaleProcesses                          // scale: "web=" (the count is the user's)
)

// completeTargets is the ValidArgsFunction of the commands that name processes or
// instances: it asks the cluster of this project (the one -f/--file names, else the
// one found from the current directory) over its control socket. With no cluster
// running it offers nothing, and never file names.
func completeTargets(e *env, f *clientFlags, kind targetKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		directive := cobra.ShellCompDirectiveNoFileComp
		if kind == scaleProcesses {
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		st, err := clusterStatus(e, f, completionTimeout)
		if err != nil {
			cobra.CompDebugln("devcluster completion: "+err.Error(), false) // to BASH_COMP_DEBUG_FILE only
			return nil, directive
		}
		given := map[string]bool{}
		for _, a := range args {
			name, _, _ := strings.Cut(a, "=")
			given[name] = true
		}
		var out []cobra.Completion
		add := func(name string) {
			if !given[name] && strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		for _, p := range statusProcesses(st) {
			switch kind {
			case processesAndInstances:
				add(p)
			case scaleProcesses:
				if !given[p] && strings.HasPrefix(p+"=", toComplete) {
					out = append(out, p+"=")
				}
			}
		}
		for _, in := range st.Instances {
			live := in.PID > 0 || in.State == control.StateStarting || in.State == control.StateReady
			switch {
			case kind == processesAndInstances,
				kind == liveInstances && live,
				kind == stoppedInstances && !live:
				add(in.ID)
			}
		}
		return out, directive
	}
}

// statusProcesses lists the processes of st's instances, in the order they appear.
func statusProcesses(st control.Status) []string {
	var names []string
	seen := map[string]bool{}
	for _, in := range st.Instances {
		if !seen[in.Process] {
			seen[in.Process] = true
			names = append(names, in.Process)
		}
	}
	return names
}

// clusterStatus asks the running cluster of this project for its status, briefly.
func clusterStatus(e *env, f *clientFlags, timeout time.Duration) (control.Status, error) {
	c, err := dial(e, f)
	if err != nil {
		return control.Status{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Status(ctx)
}

// registerBalancerFlagCompletion completes the values of up's --strategy and --sticky
// from internal/defaults, the lists the manifest and the proxy accept. newUpCmd calls
// it once its flags are defined; a flag the command lacks is skipped.
func registerBalancerFlagCompletion(cmd *cobra.Command) {
	values := map[string]func() []string{"strategy": defaults.Strategies, "sticky": defaults.StickyModes}
	for name, list := range values {
		if cmd.Flags().Lookup(name) == nil {
			continue
		}
		cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return list(), cobra.ShellCompDirectiveNoFileComp
		})
	}
}
