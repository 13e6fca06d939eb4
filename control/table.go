package control

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes st as the plain-text table of `devcluster ps`: a line
// naming the proxy and manifest, then one row per instance. Colour, if any,
// is the caller's business; nothing here depends on it.
func WriteTable(w io.Writer, st Status) error {
	proxy := "no proxy"
	switch {
	case st.ProxyURL != "":
		proxy = "proxy on " + st.ProxyURL
	case st.Proxy != "":
		proxy = "proxy on http://" + st.Proxy
	}
	if _, err := fmt.Fprintf(w, "devcluster pid %d, %s, %s\n", st.PID, proxy, st.Manifest); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tPID\tPORT\tBALANCER\tUPTIME\tRESTARTS\tRELOADS\tREQUESTS\tLAST EXIT\tLAST CHECK")
	for _, in := range st.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n",
			in.ID, stateCell(in), dash(in.PID), dash(in.Port), balancerCell(in.Balancer), formatUptime(in.Uptime),
			in.Restarts, in.Reloads, in.Requests, lastExitCell(in), lastCheckCell(in.Balancer))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeStandbys(w, st.Instances); err != nil {
		return err
	}
	if len(st.Faults) == 0 {
		return nil
	}
	// Under the table rather than in a column: an instance can have several
	// faults at once, and a fault is what the user is to notice first.
	if _, err := fmt.Fprintf(w, "\nactive faults (devcluster fault clear ends them):\n"); err != nil {
		return err
	}
	return WriteFaults(w, st.Faults, time.Now())
}

// writeStandbys names the warm standbys (reload.standby) under the table, when
// there are any: one more process per instance, which ps aux shows too.
func writeStandbys(w io.Writer, instances []Instance) error {
	var list []string
	for _, in := range instances {
		if in.StandbyPID > 0 {
			list = append(list, fmt.Sprintf("%s pid %d", in.ID, in.StandbyPID))
		}
	}
	if len(list) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nwarm standbys, each the next start of its instance (reload.standby): %s\n", strings.Join(list, ", "))
	return err
}

// stateCell is the process state, "paused" for a SIGSTOPped one (whose state
// is still "ready": it holds its port, it just answers nothing).
func stateCell(in Instance) string {
	if in.Paused {
		return "paused"
	}
	return in.State
}

// lastExitCell is the last exit, "planned stop (signal: terminated)" when devcluster
// asked for it, so that a reload's SIGTERM does not read as a crash.
func lastExitCell(in Instance) string {
	if in.LastExitPlanned && in.LastExit != "" {
		return "planned stop (" + in.LastExit + ")"
	}
	return orDash(in.LastExit)
}

// balancerCell is the proxy's view in one word or two: "in rotation", "DOWN"
// (in capitals, as HAProxy's logs and stats page write it, so that it stands out
// beside a "ready" process state without colour), "draining", "drained",
// "maint", or "-" for an instance the proxy does not balance.
func balancerCell(b *Balancer) string {
	switch {
	case b == nil:
		return "-"
	case b.State == BalancerUp:
		return "in rotation"
	case b.State == BalancerDown:
		return "DOWN"
	}
	return orDash(b.State)
}

// lastCheckCell is the result of the last health check, "HTTP 200 (3ms)";
// for a DOWN instance whose proxy recorded no check result, the error that took
// it down (a failed request does that too).
func lastCheckCell(b *Balancer) string {
	switch {
	case b == nil:
		return "-"
	case b.LastCheckResult != "" && b.LastCheckDuration > 0:
		return fmt.Sprintf("%s (%s)", b.LastCheckResult, formatCheckDuration(b.LastCheckDuration))
	case b.LastCheckResult != "":
		return b.LastCheckResult
	case b.State == BalancerDown:
		return orDash(b.LastError)
	}
	return "-"
}

// formatCheckDuration rounds a check's duration for a table: "3ms", "250µs", "1.2s".
func formatCheckDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// formatUptime is d the way ps shows it: "-" for none, then "0s", "42s", "3m12s",
// "2h03m", "3d04h".
func formatUptime(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// String is the line as `devcluster logs` prints it without colour: "web.2 | text".
func (l LogLine) String() string { return l.ID + " | " + l.Text }

func dash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
