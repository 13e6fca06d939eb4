// Package chaos is the chaos soak of issue 10: a real three-instance Flask cluster under
// `devcluster up`, a bounded load of keep-alive clients through its proxy, and a loop
// that, at random, SIGKILLs an instance, pauses one (SIGSTOP, SIGCONT), saves the app
// (a reload), scales web between 2 and 5 and restarts one with `devcluster restart`.
// Every request is counted; the only failures allowed are those the balancer's rules
// make unavoidable, and each is counted apart:
//
//   - caught by a kill: a 502 naming an instance SIGKILLed while the request was in
//     flight. The proxy never replays a request that may have reached the app (the
//     query of death, HAProxy's retry-on conn-failure), so those requests fail.
//   - cut by a kill: the killed instance had written its response head, the proxy had
//     relayed it, and the SIGKILL came before the body: the client sees the body cut.
//     Kills explain at most the client requests in flight at the SIGKILL.
//   - caught by a pause: a 5xx naming an instance that was stopped (SIGSTOP) during
//     the request; at most one per client per pause.
//
// Everything else (transport errors, other non-2xx, a body from another instance than
// the header says) misses the target. cmd/devcluster's TestChaosSoak is the short form
// and bench/chaos.sh the long one; both drive Run against a built devcluster binary.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config says what to run and for how long. Zero values take the defaults noted.
type Config struct {
	Devcluster string // the devcluster binary (required)
	AppSource  string // examples/flask/app.py, copied into WorkDir/app (required)
	WorkDir    string // an empty directory for the app copy and devcluster's logs (required)
	Python     string // the interpreter named in the Procfile, as a user writes it: python3

	BasePort   int // web.1's port; web.1-web.5 use BasePort..BasePort+4. 0: picked
	ListenPort int // the proxy's port. 0: BasePort+10

	Clients     int           // concurrent keep-alive clients: 50
	Duration    time.Duration // least time under load and chaos: 20 s
	MinRequests int64         // keep going after Duration until this many were sent: 0
	MaxDuration time.Duration // give up on MinRequests after this long: 4 × Duration
	Seed        uint64        // for the chaos loop's choices: 0 means from the clock
	Actions     []string      // the kinds of action to do (to chase one failure): all of Actions()
	Standby     bool          // up --standby: the instances have warm standbys
	// UnreadStdout makes devcluster's stdout a pipe the soak holds open and does
	// not read until it stops the cluster, with up --access-log (a line per
	// request beside the instances' own): serving must never wait on it (issue
	// 21 item 1). The pipe is read at the stop, into devcluster.out.
	UnreadStdout bool

	Log io.Writer // progress lines (each action); nil: none

	start time.Time // of the load and the chaos
}

// overtime is true once the soak has run for MaxDuration.
func (c *Config) overtime() bool { return time.Since(c.start) >= c.MaxDuration }

func (c *Config) setDefaults() error {
	if c.Devcluster == "" || c.AppSource == "" || c.WorkDir == "" {
		return errors.New("chaos: Config needs Devcluster, AppSource and WorkDir")
	}
	if c.Python == "" {
		c.Python = "python3"
	}
	if c.Clients <= 0 {
		c.Clients = 50
	}
	if c.Duration <= 0 {
		c.Duration = 20 * time.Second
	}
	if c.MaxDuration < c.Duration {
		c.MaxDuration = 4 * c.Duration
	}
	if len(c.Actions) == 0 {
		c.Actions = Actions()
	}
	for _, a := range c.Actions {
		if !slices.Contains(Actions(), a) {
			return fmt.Errorf("chaos: unknown action %q (actions: %s)", a, strings.Join(Actions(), ", "))
		}
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.BasePort == 0 {
		base, err := PickPorts(24000, 24990)
		if err != nil {
			return err
		}
		c.BasePort = base
	}
	if c.ListenPort == 0 {
		c.ListenPort = c.BasePort + 10
	}
	return nil
}

func (c *Config) appDir() string     { return filepath.Join(c.WorkDir, "app") }
func (c *Config) listenAddr() string { return "127.0.0.1:" + strconv.Itoa(c.ListenPort) }

// ports lists every port the cluster may use: web.1-web.5 and the proxy.
func (c *Config) ports() []int {
	return []int{c.BasePort, c.BasePort + 1, c.BasePort + 2, c.BasePort + 3, c.BasePort + 4, c.ListenPort}
}

// env is the environment of every devcluster command: no colour codes in the logs, and
// no 1 s sleep at exit when devcluster is a -race test binary (ThreadSanitizer's
// atexit_sleep_ms), which would count against its stop time.
func (c *Config) env() []string {
	return append(os.Environ(), "NO_COLOR=1", strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "chaos: "+format+"\n", args...)
	}
}

// PickPorts returns a base port B in [lo, hi] such that B..B+4 (five instances) and
// B+10 (the proxy) are all free on loopback. Ports below 32768 cannot be taken meanwhile
// as the source port of another test's outgoing connection.
func PickPorts(lo, hi int) (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	blocks := (hi - lo) / 20
	if blocks < 1 {
		return 0, fmt.Errorf("chaos: port range %d-%d is too small (each try needs 11 ports)", lo, hi)
	}
	first := rand.IntN(blocks)
	for i := range blocks {
		base := lo + ((first+i)%blocks)*20
		free := true
		for _, p := range []int{base, base + 1, base + 2, base + 3, base + 4, base + 10} {
			if portFree(p) != nil {
				free = false
				break
			}
		}
		if free {
			return base, nil
		}
	}
	return 0, fmt.Errorf("chaos: no free block of ports in %d-%d (each needs B..B+4 and B+10)", lo, hi)
}

// FlaskMissing says why python cannot run the Flask app, or nil when it can.
func FlaskMissing(python string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import flask").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import flask (%v: %s): %s -m pip install flask, or apt-get install python3-flask",
			python, err, strings.TrimSpace(string(out)), python)
	}
	return nil
}

var versionLine = regexp.MustCompile(`(?m)^VERSION = "[^"\n]*"$`)

// prepare copies the app into WorkDir/app with a Procfile like Procfile.example's, so
// that the soak's saves (reloads) never touch the repository.
func (c *Config) prepare() error {
	src, err := os.ReadFile(c.AppSource)
	if err != nil {
		return fmt.Errorf("chaos: read the app: %w", err)
	}
	if !versionLine.Match(src) {
		return fmt.Errorf(`chaos: %s has no line VERSION = "…" to rewrite for reloads`, c.AppSource)
	}
	if err := os.MkdirAll(c.appDir(), 0o755); err != nil {
		return err
	}
	procfile := "web: " + c.Python + " -m flask --app app run --no-reload --port $PORT\n"
	if err := os.WriteFile(filepath.Join(c.appDir(), "Procfile"), []byte(procfile), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.appDir(), "app.py"), src, 0o644)
}

// Run starts the cluster, runs the load and the chaos loop for cfg.Duration (and on to
// cfg.MinRequests, within cfg.MaxDuration), stops the cluster with SIGINT and returns
// the counts. The error is for a soak that could not run at all (no cluster); whatever
// went wrong during the soak is in the Report (see Report.Failures).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.prepare(); err != nil {
		return nil, err
	}
	cl, err := startCluster(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer cl.abort() // after a clean stop, a no-op
	cfg.logf("cluster ready; load: %d keep-alive clients on http://%s/ for %s (seed %d)", cfg.Clients, cfg.listenAddr(), cfg.Duration, cfg.Seed)

	ld := startLoad(ctx, "http://"+cfg.listenAddr()+"/", cfg.Clients, cfg.MaxDuration+30*time.Second)
	ch := &chaosLoop{cfg: &cfg, cl: cl, ld: ld, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), count: 3}
	cfg.start = time.Now()
	ch.run(ctx, func() bool {
		el := time.Since(cfg.start)
		return cfg.overtime() || (el >= cfg.Duration && ld.sent.Load() >= cfg.MinRequests)
	})
	// A last settle: the cluster must be whole again after the chaos, under load.
	if err := cl.settle(ctx, ch.count, 30*time.Second); err != nil {
		ch.problem("after the chaos: %v", err)
	}
	res := ld.stop()
	cfg.logf("load stopped after %s; stopping the cluster (SIGINT)", res.elapsed.Round(time.Millisecond))

	rep := newReport(&cfg, res, ch.events, ch.problems)
	rep.Stop = cl.stop(ctx)
	if len(rep.Failures()) > 0 {
		rep.DevclusterTail = cl.tail()
	}
	return rep, nil
}
