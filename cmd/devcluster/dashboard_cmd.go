package main

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"
)

// openTimeout bounds the browser opener: xdg-open and open hand the URL over and
// exit; one that hangs is not worth waiting for.
const openTimeout = 10 * time.Second

func newDashboardCmd(e *env) *cobra.Command {
	var cf clientFlags
	var open bool
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Print the URL of the running cluster's live dashboard (--open opens it)",
		Example: `  devcluster dashboard
  devcluster dashboard --open`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dial(e, &cf)
			if err != nil {
				return err
			}
			defer c.Close()
			url, err := dashboardURL(cmd.Context(), c)
			if err != nil {
				return err
			}
			if cf.json {
				return writeJSON(e.stdout, map[string]any{"url": url})
			}
			fmt.Fprintln(e.stdout, url)
			if open {
				openBrowser(cmd.Context(), e, url)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "open it in the browser (xdg-open; open on macOS)")
	addClientFlags(cmd, &cf)
	jsonErrors(e, cmd, &cf)
	return cmd
}

// openBrowser hands url to the desktop's opener. Without one (a server, a
// container) it says so on stderr: the URL on stdout is still the answer.
func openBrowser(ctx context.Context, e *env, url string) {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	path, err := exec.LookPath(opener)
	if err != nil {
		fmt.Fprintf(e.stderr, "cannot open a browser: %s is not installed; open the URL above yourself\n", opener)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, url).CombinedOutput(); err != nil {
		fmt.Fprintf(e.stderr, "cannot open a browser: %s %v: %s\n", opener, err, out)
	}
}
