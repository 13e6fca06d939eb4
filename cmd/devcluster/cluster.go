package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/dashboard"
	"github.com/devcluster/devcluster/internal/signals"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
	"github.com/devcluster/devcluster/supervisor"
)

// drainWait bounds how long stopping waits for the proxy's in-flight requests before
// the instances are stopped anyway (the proxy itself gives up after its
// ShutdownTimeout, and is waited for at the very end).
const drainWait = 5 * time.Second

// clusterConfig is what a cluster is built from: the loaded project and the options
// of `devcluster up` that are not manifest settings.
type clusterConfig struct {
	proj      *project
	pty       bool
	watch     bool
	poll      time.Duration // > 0: poll files at this interval instead of inotify
	gitignore bool
	sticky    string // --sticky; "" takes the manifest's
	accessLog bool   // --access-log; the manifest's proxy.access_log also turns it on

	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// detached: this up is the daemon of an up -d, told once every instance is ready.
	detached *detachedChild
	// signals, when set, replaces os/signal: tests send SIGINT, SIGHUP on it.
	signals <-chan os.Signal
}

// upCluster is one `devcluster up`: the proxy, the supervisor, the control socket and
// the watchers, started together by Run and stopped in the one order written in stop.
// What the running cluster is (its faults, its observers, the view ps and the
// dashboard read) is package cluster's; this wires it to the parts.
type upCluster struct {
	cfg      clusterConfig
	log      *logWriter
	px       *proxy.Proxy
	sup      *supervisor.Supervisor
	specs    []supervisor.InstanceSpec
	base     []string // the environment instances inherit (baseEnv), for specs built later
	watchers []*watchedGroup
	obs      *cluster.Observers
	faults   *cluster.Faults
	dash     *dashboard.Dashboard // nil until Run has bound the proxy's address, or when off
	tlsLn    net.Listener         // HTTPS beside plain HTTP (proxy.https_listen); bound by bind
	loads    *cluster.Loads       // the dashboard's loads (nil until parts)
	started  time.Time

	stopAsked chan struct{} // closed once a signal or `devcluster down` asks to stop
	stopOnce  sync.Once
	killed    chan struct{} // closed by the second Ctrl-C: skip every remaining wait
	killOnce  sync.Once
	signalAt  atomic.Int64 // UnixNano of the stopping signal, for the last line
	reloads   tasks        // reloads in flight; stop waits for them
	supCtx    context.Context
	notes     []string // printed once bind has succeeded (the pyenv note)
}

// newCluster checks the project and builds every part; it starts nothing, binds no
// socket and leaves no goroutine behind.
func newCluster(cfg clusterConfig) (*upCluster, error) {
	c := &upCluster{
		cfg:       cfg,
		log:       &logWriter{out: cfg.stderr},
		stopAsked: make(chan struct{}),
		killed:    make(chan struct{}),
	}
	proj := cfg.proj
	c.warn()
	if len(proj.instances) == 0 {
		return nil, withHint(errors.New("the formation starts no instance"), "give at least one process a count above 0, e.g. -m web=2")
	}
	if err := proj.listenClashError(); err != nil {
		return nil, err
	}
	var err error
	c.obs = cluster.NewObservers(proj.manifest.Proxy, cfg.accessLog, cfg.stdout)
	tlsCfg, err := proxyTLS(proj.manifest, cfg.getenv, c.log.printf)
	if err != nil {
		return nil, err
	}
	configure := func(pc *proxy.Config) {
		c.obs.Configure(pc)
		pc.TLSConfig = tlsCfg
	}
	if c.px, err = newProxy(proj, cfg.sticky, c.log, configure); err != nil {
		return nil, err
	}
	baseEnv := c.baseEnv()
	c.base = baseEnv
	if c.specs, err = proj.specs(baseEnv); err != nil {
		return nil, err
	}
	if err := supervisor.CheckCommands(c.specs); err != nil {
		return nil, withHint(err, "fix the command in "+proj.manifestName())
	}
	c.sup, err = supervisor.New(supervisor.Config{
		Specs:    c.specs,
		Balancer: c.px,
		Output:   cfg.stdout,
		Log:      c.log,
		Color:    useColor(cfg.stdout, cfg.getenv),
		PTY:      cfg.pty,
		SpecFor:  proj.specFor(baseEnv),
		RunDir:   runDir(proj),
		// The proxy's stall-confirming checks (one request to proxy.CheckPath) would
		// otherwise appear in the app's request log each time an instance is slow.
		HideLine: proxy.IsCheckLogLine,
	})
	if err != nil {
		return nil, err
	}
	c.faults = cluster.NewFaults(cluster.LiveProcesses(c.sup), cluster.LiveBalancer(c.px), nil, c.log.printf)
	if cfg.watch {
		if c.watchers, err = newWatchers(proj, cfg, c.log); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// warn prints what the user should know before anything starts.
func (c *upCluster) warn() {
	for _, w := range c.cfg.proj.warnings {
		c.log.printf("warning: %s", w)
	}
	for _, w := range procfile.ReloaderWarnings(c.cfg.proj.manifest) {
		c.log.printf("warning: %s", w)
	}
	if line := envReadLine(c.cfg.proj); line != "" {
		c.log.printf("%s", line)
	}
	if listen := c.cfg.proj.listen; !isLoopbackListen(listen) {
		c.log.printf("WARNING: the proxy listens on %s, which is reachable from other machines. Use --listen 127.0.0.1:PORT to keep it local.", listen)
	}
}

// Run starts the cluster and keeps it running until ctx ends, a signal or `devcluster
// down` asks it to stop, or one of its parts ends; then it stops everything (see stop)
// and returns once every goroutine it started has returned. Stopping on request
// returns nil; a part that failed returns its error.
func (c *upCluster) Run(ctx context.Context) error {
	c.started = time.Now()
	prepareProcess(c.log)
	ln, ctlLn, err := c.bind()
	if err != nil {
		return err
	}
	// Notes about how instances will run come once this run surely runs:
	// not before "a cluster is already running".
	for _, n := range c.notes {
		c.log.printf("%s", n)
	}
	printTable(c.cfg.stderr, c.cfg.proj, c.specs, addrsOf(c.cfg.proj.manifest, ln, c.tlsLn))
	if c.cfg.proj.strategy == "random" || c.cfg.proj.manifest.Proxy.Seed != 0 {
		seed := c.px.Seed()
		c.log.printf("seed %d: every random choice of the proxy (the random strategy, fault percentages, jitter) repeats with --seed %d", seed, seed)
	}
	p := c.parts(ln, ctlLn)
	p.all.start()
	var first *actor
	select {
	case <-ctx.Done():
		c.log.printf("stopping every instance")
	case <-c.stopAsked:
	case first = <-p.all.exited:
	}
	c.stop(p)
	return c.result(first)
}

// bind takes the project's control socket (which also proves no other cluster runs
// here), checks every instance port and binds the proxy's address: each of these can
// fail with a clear message before any instance starts.
func (c *upCluster) bind() (proxyLn, controlLn net.Listener, err error) {
	proj := c.cfg.proj
	controlLn, err = control.Listen(control.SocketPath(proj.manifest.Dir))
	if err != nil {
		return nil, nil, err
	}
	// Only now, holding the project's lock, is whatever the records name surely not
	// another running cluster's: what a SIGKILLed run left (a setsid daemon on an
	// instance port) is stopped before the ports are checked.
	stopped, err := supervisor.StopLeftovers(runDir(proj), c.log)
	for _, s := range stopped {
		c.log.printf("stopped %s left by a previous run", s)
	}
	if err != nil {
		controlLn.Close()
		return nil, nil, err
	}
	// Run checks the ports again when it starts; checking here as well is what lets a
	// busy port fail before the proxy is bound, with a hint.
	if err := c.sup.CheckPorts(); err != nil {
		controlLn.Close()
		return nil, nil, withHint(err, "stop what holds the port, or move devcluster with --port BASE")
	}
	proxyLn, err = net.Listen("tcp", proj.listen)
	if err != nil {
		controlLn.Close()
		return nil, nil, withHint(listenError(proj.listen, err), "stop what holds it, or choose another address with --listen 127.0.0.1:PORT")
	}
	if pc := proj.manifest.Proxy; pc.TLS.On && pc.HTTPSListen != "" {
		if c.tlsLn, err = net.Listen("tcp", pc.HTTPSListen); err != nil {
			proxyLn.Close()
			controlLn.Close()
			return nil, nil, withHint(listenError(pc.HTTPSListen, err), "stop what holds it, or choose another address with https_listen in "+proj.manifestName())
		}
	}
	return proxyLn, controlLn, nil
}

// parts are the cluster's actors, named so that stop can take them in order.
type parts struct {
	all                                               actors
	proxy, supervisor, faults, control, signals, keys *actor
	watchers                                          []*actor // each watcher, then its reloader
}

// parts builds the actors; adding one (a dashboard, a fault injector) is an add here
// and one line in stop.
func (c *upCluster) parts(ln, ctlLn net.Listener) *parts {
	p := &parts{}
	proxyCtx, stopProxy := context.WithCancel(context.Background())
	serve := func() error { return c.px.Serve(proxyCtx, ln) }
	if c.tlsLn != nil {
		serve = func() error { return c.px.ServeBoth(proxyCtx, ln, c.tlsLn) }
	}
	p.proxy = p.all.add("proxy", serve, stopProxy)

	supCtx, stopSup := context.WithCancel(context.Background())
	c.supCtx = supCtx
	p.supervisor = p.all.add("supervisor", func() error { return c.sup.Run(supCtx) }, stopSup)

	for _, w := range c.watchers {
		wctx, stopWatch := context.WithCancel(context.Background())
		p.watchers = append(p.watchers,
			p.all.add("watcher", func() error { return w.w.Run(wctx) }, stopWatch),
			// The reloader ends when its watcher closes Batches.
			p.all.add("reloader", func() error { c.reloadOnChange(w); return nil }, func() {}))
	}

	faultsCtx, stopFaults := context.WithCancel(context.Background())
	p.faults = p.all.add("faults", func() error { return c.faults.Run(faultsCtx) }, stopFaults)

	ctlCtx, stopCtl := context.WithCancel(context.Background())
	proj := c.cfg.proj
	proxyURL := addrsOf(proj.manifest, ln, c.tlsLn).url()
	c.loads = cluster.NewLoads(proxyURL, loadTLS(proxyURL, c.cfg.getenv))
	api := cluster.NewAPI(cluster.Config{Manifest: proj.manifest, BasePort: proj.basePort, Strategy: proj.strategy,
		Listen: ln.Addr().String(), ProxyURL: proxyURL, Started: c.started, Supervisor: c.sup, Proxy: c.px, Faults: c.faults,
		Loads: c.loads, Down: c.requestStop, Logf: c.log.printf})
	dashAddr, https, also := addrsOf(proj.manifest, ln, c.tlsLn).dashboard()
	c.dash = c.obs.Start(api, cluster.DashboardAddr{Addr: dashAddr, HTTPS: https, Also: also}, c.log.printf)
	server := control.NewServer(api)
	p.control = p.all.add("control", func() error { return server.Serve(ctlCtx, ctlLn) }, stopCtl)

	sigs, unnotify := c.signalChannel()
	quitSignals := make(chan struct{})
	p.signals = p.all.add("signals", func() error {
		defer unnotify()
		c.handleSignals(sigs, quitSignals)
		return nil
	}, func() { close(quitSignals) })

	if d := c.cfg.detached; d != nil {
		quitReady := make(chan struct{})
		p.all.add("ready", func() error {
			waitReady(d, c.sup, runDir(c.cfg.proj), quitReady)
			<-quitReady // an actor that returns would end the cluster
			return nil
		}, func() { close(quitReady) })
	}

	keys := newKeyReader(c.cfg.stdin)
	p.keys = p.all.add("keys", func() error {
		return keys.run(func() {
			if !c.stopping() {
				c.reloadAll("r pressed")
			}
		})
	}, keys.interrupt)
	return p
}

// stop ends the cluster, each step waiting for the one before, in the order that keeps
// requests whole and leaves nothing behind:
//
//  1. the proxy stops accepting connections and lets in-flight requests finish (the
//     drain; at most drainWait, cut short by a second Ctrl-C), once the dashboard
//     has ended its live feeds, which would otherwise hold the drain to its end;
//  2. the fault registry undoes every fault (a paused instance is resumed, so that
//     it can stop gracefully) and refuses new ones;
//  3. the supervisor stops the instances: each leaves rotation, gets its stop signal
//     as a whole process group, and SIGKILL after its stop_timeout;
//  4. the watchers stop, after the reloads they started;
//  5. the control socket closes: a `devcluster down` waiting on it returns now that
//     every instance has been reaped;
//  6. the runtime files under .devcluster go (see removeRuntimeFiles).
//
// The signal handler and the r+Enter reader stop last, so that a second Ctrl-C still
// kills at once during steps 1 to 5.
func (c *upCluster) stop(p *parts) {
	c.requestStop()
	if c.dash != nil {
		c.dash.Close()
	}
	if c.loads != nil {
		c.loads.Close() // the page's load ends before the proxy stops answering it
	}
	p.proxy.stopWithin(drainWait, c.killed)
	p.faults.stop()
	p.supervisor.stop()
	c.reloads.closeAndWait()
	for _, w := range p.watchers {
		w.stop()
	}
	p.control.stop()
	c.removeRuntimeFiles()
	p.signals.stop()
	p.keys.stop()
	p.all.wait() // the proxy, if it outlived drainWait
}

// result is Run's error: that of the part that ended first, unless it ended because
// it was asked to. The parts' errors already say what failed ("proxy: accept on
// …", "start web.1: …"), so nothing is prefixed.
func (c *upCluster) result(first *actor) error {
	if first != nil && first.err != nil && !errors.Is(first.err, context.Canceled) {
		return first.err
	}
	if t := c.signalAt.Load(); t != 0 {
		c.log.printf("stopped; every instance has exited (%.1fs after the signal)", time.Since(time.Unix(0, t)).Seconds())
	} else {
		c.log.printf("stopped; every instance has exited")
	}
	return nil
}

// requestStop asks Run to stop the cluster; it never blocks.
func (c *upCluster) requestStop() { c.stopOnce.Do(func() { close(c.stopAsked) }) }

// stopping reports whether the cluster has been asked to stop.
func (c *upCluster) stopping() bool {
	select {
	case <-c.stopAsked:
		return true
	default:
		return false
	}
}

// kill skips the rest of a stop: every process group gets SIGKILL now.
func (c *upCluster) kill() {
	c.killOnce.Do(func() { close(c.killed) })
	c.sup.Kill()
}

// signalChannel subscribes to the signals up handles, before any part starts, so
// that a Ctrl-C in the first instant is handled rather than fatal.
func (c *upCluster) signalChannel() (<-chan os.Signal, func()) {
	if c.cfg.signals != nil {
		return c.cfg.signals, func() {}
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// handleSignals: SIGINT or SIGTERM stops gracefully, and once stopping (for any
// reason) kills at once; SIGHUP rolls every process, as r + Enter does.
func (c *upCluster) handleSignals(sigs <-chan os.Signal, quit <-chan struct{}) {
	for {
		var s os.Signal
		select {
		case <-quit:
			return
		case s = <-sigs:
		}
		name := s.String()
		if ss, ok := s.(syscall.Signal); ok {
			name = signals.Name(ss)
		}
		switch {
		case s == syscall.SIGHUP:
			if !c.stopping() {
				c.reloadAll("SIGHUP")
			}
		case !c.stopping():
			c.signalAt.Store(time.Now().UnixNano())
			// The Ctrl-C hint only after a Ctrl-C: a SIGTERM comes from a
			// script or a service manager, which sends its own again.
			again := "press Ctrl-C again"
			if s != os.Interrupt && s != syscall.SIGINT {
				again = "send " + name + " again"
			}
			c.log.printf("%s: stopping every instance (%s to kill them now)", name, again)
			c.requestStop()
		default:
			c.log.printf("%s again: killing every instance now", name)
			c.kill()
		}
	}
}

// reloadOnChange rolls the watcher's processes for every batch of changed files,
// until the watcher closes Batches.
func (c *upCluster) reloadOnChange(w *watchedGroup) {
	dir := c.cfg.proj.manifest.Dir
	for batch := range w.w.Batches() {
		c.log.printf("%s changed; reloading %s: the canary first, then the rest in waves", describePaths(dir, batch.Paths), strings.Join(w.processes, ", "))
		cluster.DropStaleBytecode(batch.Paths)
		if c.cfg.proj.envFiles.Touched(batch.Paths) {
			c.applyEnvFiles()
		}
		c.reload(w.processes)
	}
}

// removeRuntimeFiles is the last step of stop. Each runtime file under .devcluster
// is removed by its owner, as soon as what it describes is gone: an instance's pid
// record by the supervisor when its processes have been reaped (step 3; a record
// whose process survived SIGKILL stays, so that the next up stops it), the socket and
// the pid file by the control listener (step 5). What is left is the directory's
// .gitignore and the lock file, on purpose: unlinking a lock file that another `up`
// may have just opened would let a third one lock a new file beside it. So the step
// removes the directory only if something else emptied it.
func (c *upCluster) removeRuntimeFiles() {
	_ = os.Remove(runDir(c.cfg.proj)) // fails unless empty, which is what we want
}

// runDir is the project's runtime directory, .devcluster.
func runDir(p *project) string { return filepath.Join(p.manifest.Dir, control.RuntimeDir) }

// tasks runs short-lived goroutines that their owner waits for; once closed it runs
// no more, so that no reload starts behind the wait.
type tasks struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

func (t *tasks) run(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

func (t *tasks) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}
