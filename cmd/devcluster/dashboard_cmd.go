package main

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/devcluster/devcluster/control"
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
				dir, err := control.FindProject(e.cwd, cf.file)
				if err != nil {
					return err
				}
				openBrowser(cmd.Context(), e, dir, url)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "open it in the browser (xdg-open; open on macOS)")
	addClientFlags(cmd, &cf)
	jsonErrors(e, cmd, &cf)
	return cmd
}

// openBrowser has the desktop's opener show url. The opener is given not
// the URL, whose token every user of the machine could read in its argv
// (ps), but the path of a page only the user can read (openPage) that sends
// the browser on to it. Without an opener (a server, a container) it says so
// on stderr: the URL on stdout is still the answer.
func openBrowser(ctx context.Context, e *env, projectDir, url string) {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	path, err := exec.LookPath(opener)
	if err != nil {
		fmt.Fprintf(e.stderr, "cannot open a browser: %s is not installed; open the URL above yourself\n", opener)
		return
	}
	page, err := writeOpenPage(projectDir, url)
	if err != nil {
		fmt.Fprintf(e.stderr, "cannot open a browser: %v; open the URL above yourself\n", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, page).CombinedOutput(); err != nil {
		fmt.Fprintf(e.stderr, "cannot open a browser: %s %v: %s\n", opener, err, out)
	}
}

// openPageName is the page `dashboard --open` writes in the runtime directory.
const openPageName = "dashboard-open.html"

// writeOpenPage writes PROJECT/.devcluster/dashboard-open.html, mode 0600 in
// the user's own runtime directory: a page that sends the browser on to url
// (a meta refresh keeps the #token= fragment). It is replaced whole each
// time, and holds only this run's token, which ends with the run.
func writeOpenPage(projectDir, url string) (string, error) {
	dir := filepath.Join(projectDir, control.RuntimeDir)
	f, err := os.CreateTemp(dir, ".dashboard-open-*.html") // 0600
	if err != nil {
		return "", fmt.Errorf("write the page that opens the dashboard: %w", err)
	}
	u := html.EscapeString(url)
	_, werr := fmt.Fprintf(f, `<!doctype html>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=%s">
<title>devcluster dashboard</title>
<p>Opening <a href="%s">the devcluster dashboard</a>…</p>
`, u, u)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	page := filepath.Join(dir, openPageName)
	if werr == nil {
		werr = os.Rename(f.Name(), page)
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write the page that opens the dashboard: %w", werr)
	}
	return page, nil
}
