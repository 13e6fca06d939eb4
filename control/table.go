package control

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// DialProject finds the project of a command run in start (see FindProject;
// manifestFlag is its -f FILE, "" if none) and dials the cluster serving it.
// It is all a `devcluster ps/restart/...` command needs before its call.
func DialProject(start, manifestFlag string) (*Client, error) {
	dir, err := FindProject(start, manifestFlag)
	if err != nil {
		return nil, err
	}
	return Dial(SocketPath(dir))
}

// WriteTable writes st as the plain-text table of `devcluster ps`: a line
// naming the proxy and manifest, then one row per instance. Colour, if any,
// is the caller's business; nothing here depends on it.
func WriteTable(w io.Writer, st Status) error {
	proxy := "no proxy"
	if st.Proxy != "" {
		proxy = "proxy on http://" + st.Proxy
	}
	if _, err := fmt.Fprintf(w, "devcluster pid %d, %s, %s\n", st.PID, proxy, st.Manifest); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tPID\tPORT\tUPTIME\tRESTARTS\tREQUESTS\tLAST EXIT")
	for _, in := range st.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n",
			in.ID, in.State, dash(in.PID), dash(in.Port), FormatUptime(in.Uptime), in.Restarts, in.Requests, orDash(in.LastExit))
	}
	return tw.Flush()
}

// FormatUptime is d the way ps shows it: "-" for none, then "0s", "42s", "3m12s",
// "2h03m", "3d04h".
func FormatUptime(d time.Duration) string {
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
