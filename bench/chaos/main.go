// Command chaos is the long form of the chaos soak (package internal/chaos), run by
// bench/chaos.sh: a three-instance Flask cluster under `devcluster up`, 50 keep-alive
// clients through its proxy for at least -duration and -requests, and instances killed,
// paused, reloaded, scaled and restarted at random meanwhile. It prints the counts on
// stdout, its progress on stderr, and exits 0 when the target was met, 1 when it was
// missed, 2 when the soak could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/chaos"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg chaos.Config
	fs.StringVar(&cfg.Devcluster, "devcluster", "", "the devcluster binary to soak (required)")
	fs.StringVar(&cfg.AppSource, "app", "examples/flask/app.py", "the Flask app to copy and run")
	fs.StringVar(&cfg.WorkDir, "workdir", "", "an empty directory for the app copy and devcluster's logs (default: a temp dir, removed after)")
	fs.StringVar(&cfg.Python, "python", "python3", "the interpreter the Procfile names")
	fs.IntVar(&cfg.BasePort, "port", 0, "web.1's port; web.1-web.5 use PORT..PORT+4 (default: a free block in 24000-24990)")
	fs.IntVar(&cfg.ListenPort, "listen", 0, "the proxy's port (default: PORT+10)")
	fs.IntVar(&cfg.Clients, "clients", 50, "concurrent keep-alive clients")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "least time under load and chaos")
	fs.Int64Var(&cfg.MinRequests, "requests", 100_000, "keep going after -duration until this many requests were sent")
	fs.DurationVar(&cfg.MaxDuration, "max-duration", 5*time.Minute, "give up on -requests after this long (a miss)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the chaos loop's choices (default: from the clock; the report prints it)")
	fs.BoolVar(&cfg.Standby, "standby", false, "give the instances warm standbys (up --standby)")
	fs.BoolVar(&cfg.UnreadStdout, "unread-stdout", false, "leave devcluster's stdout unread until the stop, with up --access-log (issue 21 item 1)")
	actions := fs.String("actions", strings.Join(chaos.Actions(), ","), "the chaos actions to do, comma-separated (one alone chases one failure)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Actions = strings.Split(*actions, ",")
	if cfg.Devcluster == "" {
		fmt.Fprintln(stderr, "chaos: -devcluster is required: go build -o /tmp/devcluster ./cmd/devcluster")
		return 2
	}
	if err := chaos.FlaskMissing(cfg.Python); err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "devcluster-chaos.")
		if err != nil {
			fmt.Fprintln(stderr, "chaos:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		cfg.WorkDir = dir
	}
	cfg.Log = stderr
	// SIGINT or SIGTERM (bench/lib.sh's cleanup) ends the soak early; Run still stops
	// the cluster and reports.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	rep.Write(stdout)
	if errors.Is(ctx.Err(), context.Canceled) {
		fmt.Fprintln(stderr, "chaos: interrupted")
		return 1
	}
	if len(rep.Failures()) > 0 {
		return 1
	}
	return 0
}
