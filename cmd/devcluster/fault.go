package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
)

// faultSpec is one `devcluster fault KIND` command: its usage, and how its
// arguments after the instance and its flags make a control.Fault.
type faultSpec struct {
	kind, use, short, example string
	value                     string // the argument after INSTANCE ("DURATION"), "" for none
	optional                  bool   // the value may be left out (fail: 100%)
	percent, jitter, status   bool   // the flags it takes besides --for
	parse                     func(f *control.Fault, value string) error
}

func faultSpecs() []faultSpec {
	return []faultSpec{
		{kind: control.FaultKill, use: "kill INSTANCE", short: "SIGKILL an instance; the restart policy brings it back",
			example: "  devcluster fault kill web.2"},
		{kind: control.FaultPause, use: "pause INSTANCE", short: "SIGSTOP an instance's process group: a hung server that still holds its port",
			example: "  devcluster fault pause web.2 --for 10s"},
		{kind: control.FaultResume, use: "resume INSTANCE", short: "SIGCONT a paused instance",
			example: "  devcluster fault resume web.2"},
		{kind: control.FaultDrain, use: "drain INSTANCE", short: "Send an instance no new requests (sticky clients are still served)",
			example: "  devcluster fault drain web.2"},
		{kind: control.FaultMaint, use: "maint INSTANCE", short: "Take an instance out of rotation and stop checking it",
			example: "  devcluster fault maint web.2 --for 1m"},
		{kind: control.FaultReady, use: "ready INSTANCE", short: "End drain and maint: back in rotation",
			example: "  devcluster fault ready web.2"},
		{kind: control.FaultWeight, use: "weight INSTANCE N", short: "Set an instance's balancing weight (1 to 256) while it runs",
			example: "  devcluster fault weight web.2 3", value: "N", parse: parseWeight},
		{kind: control.FaultDelay, use: "delay INSTANCE DURATION", short: "Delay requests to an instance in the proxy",
			example: "  devcluster fault delay web.3 300ms --jitter 50ms --percent 20", value: "DURATION", percent: true, jitter: true, parse: parseDelay},
		{kind: control.FaultFail, use: "fail INSTANCE [PERCENT%]", short: "Answer a share of an instance's requests with an error status from the proxy",
			example: "  devcluster fault fail web.2 50% --status 503", value: "PERCENT%", optional: true, status: true, parse: parseFailPercent},
		{kind: control.FaultReset, use: "reset INSTANCE", short: "Reset client connections to an instance mid-response",
			example: "  devcluster fault reset web.2 --percent 10", percent: true},
		{kind: control.FaultTimeout, use: "timeout INSTANCE", short: "Hold requests to an instance unanswered, until the proxy's response timeout (504)",
			example: "  devcluster fault timeout web.2 --for 30s", percent: true},
	}
}

func newFaultCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault KIND INSTANCE ...",
		Short: "Break an instance on purpose: kill, pause, drain, delay, fail, reset, ... (fault list, fault clear)",
		Long: `Each fault shows in "devcluster fault list", in "devcluster ps" and on the dashboard.
A fault with --for DURATION reverts by itself; "devcluster fault clear" ends them all.`,
		Example: `  devcluster fault kill web.2
  devcluster fault delay web.3 300ms --for 2m
  devcluster fault list
  devcluster fault clear`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usage(fmt.Errorf("unknown fault %q (faults: %s)", args[0], strings.Join(control.FaultKinds(), ", ")),
				"devcluster fault delay web.3 300ms   (devcluster fault --help lists them)")
		},
	}
	for _, s := range faultSpecs() {
		cmd.AddCommand(newFaultKindCmd(e, s))
	}
	cmd.AddCommand(newFaultListCmd(e), newFaultClearCmd(e))
	for _, c := range cmd.Commands() {
		checkedArgs(c)
	}
	return cmd
}

// faultFlags are a fault command's flags beyond -f and --json.
type faultFlags struct {
	client  clientFlags
	dur     time.Duration
	jitter  time.Duration
	percent float64
	status  int
}

func newFaultKindCmd(e *env, s faultSpec) *cobra.Command {
	var ff faultFlags
	cmd := &cobra.Command{
		Use:               s.use,
		Short:             s.short,
		Example:           s.example,
		Args:              faultArgs(s),
		ValidArgsFunction: completeFaultInstance(e, &ff.client, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := s.fault(cmd, &ff, args)
			if err != nil {
				return err
			}
			c, err := dial(e, &ff.client)
			if err != nil {
				return err
			}
			defer c.Close()
			got, err := c.SetFault(cmd.Context(), f)
			if err != nil {
				return err
			}
			return reportFault(e, &ff.client, f, got)
		},
	}
	cmd.Flags().DurationVar(&ff.dur, "for", 0, "revert by itself after this long (e.g. 30s, 2m); default: until cleared")
	if s.percent {
		cmd.Flags().Float64Var(&ff.percent, "percent", 0, "share of requests hit, above 0 and at most 100 (default 100)")
	}
	if s.jitter {
		cmd.Flags().DurationVar(&ff.jitter, "jitter", 0, "vary the delay by up to ± this much, uniformly")
	}
	if s.status {
		cmd.Flags().IntVar(&ff.status, "status", 503, "the HTTP status the proxy answers with")
	}
	addClientFlags(cmd, &ff.client)
	jsonErrors(e, cmd, &ff.client)
	return cmd
}

// faultArgs checks the count of arguments: INSTANCE, then the kind's value.
func faultArgs(s faultSpec) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		min, max := 1, 1
		if s.value != "" {
			max = 2
			if !s.optional {
				min = 2
			}
		}
		if len(args) >= min && len(args) <= max {
			return nil
		}
		want := "an instance"
		if s.value != "" {
			want += " and " + s.value
		}
		if len(args) < min {
			return fmt.Errorf("fault %s needs %s", s.kind, want)
		}
		return fmt.Errorf("fault %s takes %s, got %q", s.kind, want, strings.Join(args, " "))
	}
}

// fault builds the fault args and flags ask for, and checks it before anything is
// sent: a bad value is a usage error (exit 2) with the command's example.
func (s faultSpec) fault(cmd *cobra.Command, ff *faultFlags, args []string) (control.Fault, error) {
	f := control.Fault{Instance: args[0], Kind: s.kind, For: ff.dur, Percent: ff.percent, Jitter: ff.jitter}
	if s.status {
		f.Status = ff.status
	}
	bad := func(err error) (control.Fault, error) {
		return control.Fault{}, usage(err, strings.TrimSpace(s.example))
	}
	if len(args) > 1 {
		if err := s.parse(&f, args[1]); err != nil {
			return bad(err)
		}
	}
	if err := f.Check(); err != nil {
		return bad(err)
	}
	return f, nil
}

func parseDelay(f *control.Fault, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration; give one with its unit, e.g. 300ms or 2s", v)
	}
	f.Delay = d
	return nil
}

func parseWeight(f *control.Fault, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a weight; give a whole number 1 to %d", v, control.MaxWeight)
	}
	f.Weight = n
	return nil
}

func parseFailPercent(f *control.Fault, v string) error {
	p, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		return fmt.Errorf("%q is not a percentage; give the share of requests to fail, e.g. 50%%", v)
	}
	f.Percent = p
	return nil
}

// reportFault prints what was done: JSON for scripts, a line for people.
func reportFault(e *env, cf *clientFlags, asked control.Fault, got *control.Fault) error {
	if cf.json {
		return writeJSON(e.stdout, map[string]any{"ok": true, "fault": got})
	}
	id := asked.Instance
	switch asked.Kind {
	case control.FaultKill:
		fmt.Fprintf(e.stdout, "killed %s (SIGKILL); the restart policy brings it back\n", id)
	case control.FaultResume:
		fmt.Fprintf(e.stdout, "resumed %s\n", id)
	case control.FaultReady:
		fmt.Fprintf(e.stdout, "%s is ready: drain and maint ended\n", id)
	default:
		until := "until cleared (devcluster fault clear " + id + ")"
		if got != nil && !got.Until.IsZero() {
			until = fmt.Sprintf("for %s, until %s", asked.For, got.Until.Local().Format("15:04:05"))
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", asked, until)
	}
	return nil
}

func newFaultListCmd(e *env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:               "list",
		Short:             "List the active faults",
		Example:           "  devcluster fault list\n  devcluster fault list --json",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &cf)
			if err != nil {
				return err
			}
			defer c.Close()
			faults, err := c.Faults(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return writeJSON(e.stdout, map[string]any{"faults": nonNilList(faults)})
			}
			if len(faults) == 0 {
				fmt.Fprintln(e.stdout, "no active faults")
				return nil
			}
			return control.WriteFaults(e.stdout, faults, time.Now())
		},
	}
	addClientFlags(cmd, &cf)
	jsonErrors(e, cmd, &cf)
	return cmd
}

func newFaultClearCmd(e *env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "clear [INSTANCE]",
		Short:   "End the faults of one instance, or of every instance",
		Example: "  devcluster fault clear          # every fault\n  devcluster fault clear web.2",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("fault clear takes one instance or none (for all), got %q", strings.Join(args, " "))
			}
			return nil
		},
		ValidArgsFunction: completeFaultInstance(e, &cf, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			instance := ""
			if len(args) == 1 {
				instance = args[0]
			}
			c, err := dial(e, &cf)
			if err != nil {
				return err
			}
			defer c.Close()
			cleared, err := c.ClearFaults(cmd.Context(), instance)
			if cf.json && err == nil {
				return writeJSON(e.stdout, map[string]any{"ok": true, "cleared": nonNilList(cleared)})
			}
			for _, f := range cleared {
				fmt.Fprintf(e.stdout, "cleared %s\n", f)
			}
			if len(cleared) == 0 && err == nil {
				fmt.Fprintln(e.stdout, "no active faults to clear")
			}
			return err
		},
	}
	addClientFlags(cmd, &cf)
	jsonErrors(e, cmd, &cf)
	return cmd
}

func nonNilList(f []control.Fault) []control.Fault {
	if f == nil {
		return []control.Fault{}
	}
	return f
}

// completeFaultInstance offers the instances of the running cluster as the first
// argument (withFaults: only those with an active fault, for clear), and nothing
// after it: the values are the user's.
func completeFaultInstance(e *env, cf *clientFlags, withFaults bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		directive := cobra.ShellCompDirectiveNoFileComp
		if len(args) > 0 {
			return nil, directive
		}
		st, err := clusterStatus(e, cf, completionTimeout)
		if err != nil {
			cobra.CompDebugln("devcluster completion: "+err.Error(), false)
			return nil, directive
		}
		faulted := map[string]bool{}
		for _, f := range st.Faults {
			faulted[f.Instance] = true
		}
		var out []cobra.Completion
		for _, in := range st.Instances {
			if strings.HasPrefix(in.ID, toComplete) && (!withFaults || faulted[in.ID]) {
				out = append(out, in.ID)
			}
		}
		return out, directive
	}
}

// errNoDashboard is `devcluster dashboard`'s answer for a cluster without one.
var errNoDashboard = errors.New("this cluster serves no dashboard (it is off in its manifest or flags, or this devcluster has none yet)")

// dashboardURL asks the running cluster for its dashboard's URL.
func dashboardURL(ctx context.Context, c *control.Client) (string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	if st.Dashboard == "" {
		return "", errNoDashboard
	}
	return st.Dashboard, nil
}
