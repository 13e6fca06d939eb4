package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
	"github.com/devcluster/devcluster/watcher"
)

type upFlags struct {
	manifestFlags
	scale     string
	pty       bool
	noWatch   bool
	poll      string
	sticky    string
	accessLog bool
	https     bool // --https, as proxy.tls: true
	seed      uint64
	detach    bool
}

func addManifestFlags(cmd *cobra.Command, f *manifestFlags) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "manifest to read (default: devcluster.yaml, then Procfile)")
	cmd.Flags().StringArrayVarP(&f.envFiles, "env", "e", nil, "extra .env file to load (repeatable; .env next to the manifest is always read)")
	cmd.Flags().StringVarP(&f.formation, "formation", "m", "", "instances per process, e.g. web=3,worker=1 (web defaults to 2, others to 1)")
	cmd.Flags().IntVarP(&f.basePort, "port", "p", 0, "base port: process k gets PORT+100*k, its instances consecutive ports (default: PORT from .env or the environment, else "+strconv.Itoa(defaults.BasePort)+")")
	cmd.Flags().StringVar(&f.listen, "listen", "", "address of the balancing proxy (default "+defaults.Listen+")")
	cmd.Flags().StringVar(&f.strategy, "strategy", "", "balancing: "+strings.Join(defaults.Strategies(), ", ")+" (default "+defaults.Strategy+")")
}

// addGitignoreFlag adds --no-gitignore, for the commands that watch files or
// count what watching them takes.
func addGitignoreFlag(cmd *cobra.Command, f *manifestFlags) {
	cmd.Flags().BoolVar(&f.noGitignore, "no-gitignore", false, "do not honour .gitignore when watching")
}

// addStandbyFlag adds --standby, for the commands that start instances or check
// what starting them would do.
func addStandbyFlag(cmd *cobra.Command, f *manifestFlags) {
	cmd.Flags().BoolVar(&f.standby, "standby", false, "a warm standby per instance, for every process (as reload.standby: true): reloads start in ~0.04 s instead of Python's ~0.25 s")
}

func newUpCmd(e *env) *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up [PROCESS...]",
		Short: "Start the processes of the manifest (all, or those named) behind the balancing proxy",
		Long: `up starts N instances of each process on consecutive ports (web: 5000, 5001, ...),
restarts them when they crash, reloads them one at a time when source files change,
and balances HTTP requests over the ready instances on 127.0.0.1:8080.

Press Ctrl-C to stop everything (twice to skip the graceful wait). Type r + Enter,
or send SIGHUP, to roll every process onto fresh code.`,
		Example: `  devcluster up -f Procfile.example -m web=3
  devcluster up web           # only web, as foreman start web
  devcluster up -m web=4,worker=1 --listen 127.0.0.1:9000
  devcluster up --strategy leastconn --no-watch`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.detach {
				return startDetached(cmd.Context(), e, cmd, args)
			}
			f.only = args
			if f.scale != "" {
				if f.formation != "" {
					f.formation += ","
				}
				f.formation += f.scale
			}
			return runUp(cmd.Context(), e, &f)
		},
	}
	addManifestFlags(cmd, &f.manifestFlags)
	addStandbyFlag(cmd, &f.manifestFlags)
	cmd.Flags().StringVar(&f.scale, "scale", "", "same as -m")
	cmd.Flags().BoolVarP(&f.detach, "detach", "d", false, "run in the background: return once every instance is ready (devcluster logs -f follows them, devcluster down stops them)")
	cmd.Flags().BoolVar(&f.pty, "pty", false, "run each instance under a pseudo-terminal (keeps colours of TTY-only programs)")
	cmd.Flags().BoolVar(&f.noWatch, "no-watch", false, "do not watch files for changes")
	cmd.Flags().StringVar(&f.poll, "poll", "", "poll files instead of inotify (for network and VM mounts), optionally every INTERVAL")
	cmd.Flags().Lookup("poll").NoOptDefVal = "500ms"
	addGitignoreFlag(cmd, &f.manifestFlags)
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "seed the proxy's random choices (random strategy, fault percentages, jitter) to repeat a run; as proxy.seed (default: one picked and shown)")
	cmd.Flags().StringVar(&f.sticky, "sticky", "", "sticky sessions: "+strings.Join(defaults.StickyModes(), " or "))
	cmd.Flags().BoolVar(&f.https, "https", false, "serve HTTPS with the local CA, HTTP/2 included (as proxy.tls: true; run devcluster trust once)")
	cmd.Flags().BoolVar(&f.accessLog, "access-log", false, "print one line per request the proxy served (also proxy.access_log: true)")
	registerBalancerFlagCompletion(cmd)
	return cmd
}

// logWriter prefixes every line it is given with "devcluster | " and writes whole lines
// under one lock, so that messages from the proxy, the supervisor and cmd never interleave.
type logWriter struct {
	mu  sync.Mutex
	out io.Writer
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if !strings.HasPrefix(line, "devcluster |") {
			line = "devcluster | " + line
		}
		if _, err := io.WriteString(w.out, line+"\n"); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (w *logWriter) printf(format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}

func runUp(ctx context.Context, e *env, f *upFlags) error {
	var poll time.Duration
	if f.poll != "" {
		var err error
		if poll, err = time.ParseDuration(f.poll); err != nil || poll <= 0 {
			return usage(fmt.Errorf("--poll=%s: not a duration", f.poll), "devcluster up --poll=1s")
		}
	}
	proj, err := loadProject(e, &f.manifestFlags)
	if err != nil {
		return err
	}
	if f.seed != 0 {
		proj.manifest.Proxy.Seed = f.seed // the flag wins over proxy.seed, as --strategy does
	}
	if f.https {
		proj.manifest.Proxy.TLS.On = true // as proxy.tls: true (a certificate of the manifest's kept)
	}
	out := newUpOutput(e.stdout, e.stderr)
	defer out.Close()
	c, err := newCluster(clusterConfig{
		proj:      proj,
		pty:       f.pty,
		watch:     !f.noWatch,
		poll:      poll,
		gitignore: !f.noGitignore,
		sticky:    f.sticky,
		accessLog: f.accessLog,
		stdin:     e.stdin,
		stdout:    out.stdout,
		stderr:    out.stderr,
		getenv:    e.getenv,
		detached:  e.detached,
	})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// listenError names who holds the proxy's port when it cannot be bound.
func listenError(addr string, err error) error {
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	if errors.Is(err, syscall.EADDRINUSE) && port > 0 {
		if pid, cmdline, ok := supervisor.PortHolder(port); ok {
			return fmt.Errorf("proxy cannot listen on %s: address already in use — held by pid %d (%s)", addr, pid, cmdline)
		}
		return fmt.Errorf("proxy cannot listen on %s: address already in use", addr)
	}
	return fmt.Errorf("proxy cannot listen on %s: %w", addr, err)
}

// newProxy builds the proxy and its pools (cluster.ProxyConfig, cluster.AddPools);
// configure, when set, adds what only a running cluster has (the dashboard, the
// request hook).
func newProxy(proj *project, sticky string, log io.Writer, configure func(*proxy.Config)) (*proxy.Proxy, error) {
	cfg := cluster.ProxyConfig(proj.manifest, proj.listen, proj.strategy, sticky, log)
	if configure != nil {
		configure(&cfg)
	}
	px, err := proxy.New(cfg)
	if err != nil {
		return nil, withHint(err, "fix the proxy settings in "+proj.manifest.Path+" or the flags")
	}
	if err := cluster.AddPools(px, proj.manifest); err != nil {
		return nil, err
	}
	return px, nil
}

// watchedGroup is one watcher and the processes that reload when it reports a batch.
// Processes with the same watch settings share one watcher.
type watchedGroup struct {
	w         *watcher.Watcher
	processes []string
}

func newWatchers(proj *project, cfg clusterConfig, log io.Writer) ([]*watchedGroup, error) {
	var groups []*watchedGroup
	for _, procs := range cluster.WatchGroups(proj.manifest, proj.formation) {
		proc := procs[0]
		wc := cluster.WatchConfig(proj.manifest, proc, cfg.gitignore)
		wc.Poll, wc.PollInterval, wc.Log = cfg.poll > 0, cfg.poll, log
		w, err := watcher.New(wc)
		if err != nil {
			return nil, fmt.Errorf("watch files for %s: %w", proc.Name, err)
		}
		g := &watchedGroup{w: w}
		for _, p := range procs {
			g.processes = append(g.processes, p.Name)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// describePaths names up to three changed files relative to the project.
func describePaths(dir string, paths []string) string {
	names := make([]string, 0, 3)
	for i, p := range paths {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(paths)-3))
			break
		}
		if rel, err := filepath.Rel(dir, p); err == nil {
			p = rel
		}
		names = append(names, p)
	}
	return strings.Join(names, ", ")
}

// printTable is the start table; addrs are the addresses the proxy's listeners
// are bound to (the port the kernel chose for --listen 127.0.0.1:0), not the
// ones asked for.
func printTable(w io.Writer, proj *project, specs []supervisor.InstanceSpec, addrs proxyAddrs) {
	if !allPinned(proj) {
		fmt.Fprintf(w, "devcluster | %s\n", baseLine(proj))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "devcluster | INSTANCE\tPORT\tURL\tCOMMAND")
	for _, s := range specs {
		fmt.Fprintf(tw, "devcluster | %s\t%d\thttp://127.0.0.1:%d\t%s\n", s.ID, s.Port, s.Port, s.Command)
	}
	var balanced []string
	for _, s := range specs {
		if s.Balanced {
			balanced = append(balanced, s.ID)
		}
	}
	sort.Strings(balanced)
	over := proj.strategy + " over " + strings.Join(balanced, ", ")
	if len(balanced) == 0 {
		over = "no process is balanced (set proxy: true on one in devcluster.yaml, or name it web)"
	}
	if a := addrs.secure; a != "" {
		fmt.Fprintf(tw, "devcluster | proxy\t%s\thttps://%s\t%s\n", portOf(a), a, over)
	}
	if a := addrs.plain; a != "" {
		if addrs.redirect {
			over = "redirects to https"
		}
		fmt.Fprintf(tw, "devcluster | proxy\t%s\thttp://%s\t%s\n", portOf(a), a, over)
	}
	printHostRows(tw, proj, addrs)
	tw.Flush()
}

// baseLine says where the ports come from, for the start table and check:
// "base port 6000 (PORT in .env:1)".
func baseLine(proj *project) string {
	var from string
	switch src := proj.baseSource; src {
	case "default":
		from = "the default; --port, or PORT in .env or the environment, changes it"
	case "--port":
		from = src
	case "environment PORT":
		from = "PORT in the environment"
	default:
		from = "PORT in " + src
	}
	return fmt.Sprintf("base port %d (%s)", proj.basePort, from)
}

// allPinned reports whether every process of the manifest pins its port, so that
// no port comes from the base (nor would one a scale adds): then the start table
// does not name a base port that nothing uses.
func allPinned(proj *project) bool {
	for _, p := range proj.manifest.Processes {
		if p.Port == 0 {
			return false
		}
	}
	return true
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "?"
	}
	return p
}
