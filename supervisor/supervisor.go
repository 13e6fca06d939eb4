package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devcluster/devcluster/internal/defaults"
	"github.com/devcluster/devcluster/internal/signals"
)

// The supervisor's own defaults: no other package applies them (procfile and cmd
// have no setting for them), so they live here, next to the Config fields they fill.
// The defaults a manifest can override come from internal/defaults.
const (
	defaultStartTimeout    = 30 * time.Second
	defaultLogLines        = 1000
	defaultDrainTimeout    = 5 * time.Second
	defaultPortFreeTimeout = 3 * time.Second
)

// defaultStopSignal is defaults.StopSignal read through the one signal table
// (TestDefaultStopSignal checks that it names a signal).
func defaultStopSignal() syscall.Signal {
	sig, _ := signals.Parse(defaults.StopSignal)
	return sig
}

// Supervisor runs and controls the instances. Create it with New, start it with
// Run; every other method talks to the running instances.
type Supervisor struct {
	cfg     Config
	runID   string // in every child's runEnv marker
	out     *output
	killCtx context.Context // done once Kill was called
	kill    context.CancelFunc
	ready   chan struct{}
	fatal   chan error // the first failed initial start

	mu           sync.Mutex
	instances    []*instance // manifest order, then index
	gens         map[string]int
	rolls        map[string]*roll
	runCtx       context.Context
	running      bool
	started      bool
	pendingReady int
	readyClosed  bool
	// procPending counts, per process, the initial instances not ready yet;
	// procReady[process] is closed when that reaches 0 (see dependencies).
	procPending map[string]int
	procReady   map[string]chan struct{}

	wg      sync.WaitGroup // every goroutine Run and the instances start
	spawner *spawner
	watchR  *os.File // read end of the watchdog pipe (see watchdogScript)

	liveMu sync.Mutex
	live   map[string]map[int]bool // instance id → leader pids of its unreaped children
	// spawnMu is read-held by a start from before its fork until its leader
	// is in live, and held by killDetached: a child that lingers (see linger)
	// is reaped while its instance starts the next one, which must not look
	// detached from the old one in between.
	spawnMu sync.RWMutex

	warming     chan struct{} // a place per standby warming up: one per CPU
	standbyOnce sync.Once     // standbyScript
	standbyPath string        // standby.py, once written
	standbyTemp string        // the temporary directory holding it, when RunDir is ""
	standbyErr  error

	// observe, when set (by tests, before Run), is called with every status an
	// instance commits, from that instance's goroutine.
	observe func(InstanceStatus)
}

// New checks cfg and prepares the instances; it starts nothing.
func New(cfg Config) (*Supervisor, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	if cfg.LogLines <= 0 {
		cfg.LogLines = defaultLogLines
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = defaultDrainTimeout
	}
	if cfg.StandbyWarmTimeout <= 0 {
		cfg.StandbyWarmTimeout = standbyWarmTimeout
	}
	if cfg.PortFreeTimeout <= 0 {
		cfg.PortFreeTimeout = defaultPortFreeTimeout
	}
	s := &Supervisor{
		cfg:   cfg,
		runID: newRunID(),
		out:   newOutput(cfg.Output, cfg.Log, cfg.Color, cfg.Now, cfg.LogLines),
		ready: make(chan struct{}),
		fatal: make(chan error, 1),
		gens:  make(map[string]int),
		rolls: make(map[string]*roll),
		live:  make(map[string]map[int]bool),
		// A place per standby warming up (see startStandby).
		warming: make(chan struct{}, max(1, runtime.NumCPU())),
	}
	s.killCtx, s.kill = context.WithCancel(context.Background())
	seen := make(map[string]bool)
	var errs []error
	for _, sp := range cfg.Specs {
		sp, err := normalize(sp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[sp.ID] {
			errs = append(errs, fmt.Errorf("instance %s: defined twice", sp.ID))
			continue
		}
		seen[sp.ID] = true
		s.gens[sp.Process] = 1
		s.instances = append(s.instances, newInstance(s, sp, true, 1))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.pendingReady = len(s.instances)
	s.procPending, s.procReady = map[string]int{}, map[string]chan struct{}{}
	for _, in := range s.instances {
		s.procPending[in.spec.Process]++
		s.procReady[in.spec.Process] = make(chan struct{})
	}
	return s, nil
}

// normalize fills a spec's defaults and rejects what cannot run.
func normalize(sp InstanceSpec) (InstanceSpec, error) {
	if sp.ID == "" {
		sp.ID = fmt.Sprintf("%s.%d", sp.Process, sp.Index)
	}
	if sp.Process == "" || sp.Index < 1 {
		return sp, fmt.Errorf("instance %q: needs a process name and an index ≥ 1", sp.ID)
	}
	if sp.Command == "" {
		return sp, fmt.Errorf("instance %s: empty command", sp.ID)
	}
	if sp.Restart == "" {
		sp.Restart = defaults.Restart
	}
	if policies := defaults.RestartPolicies(); !slices.Contains(policies, sp.Restart) {
		return sp, fmt.Errorf("instance %s: restart policy %q: want %s", sp.ID, sp.Restart, orList(policies))
	}
	if sp.StopSignal == 0 {
		sp.StopSignal = defaultStopSignal()
	}
	if sp.StopTimeout <= 0 {
		sp.StopTimeout = defaults.StopTimeout
	}
	if sp.MaxUnavailable < 0 {
		return sp, fmt.Errorf("instance %s: max_unavailable %d: want 1 or more (0 means 1)", sp.ID, sp.MaxUnavailable)
	}
	if sp.MaxUnavailable == 0 {
		sp.MaxUnavailable = 1
	}
	if sp.ReadyLog != "" {
		re, err := regexp.Compile(sp.ReadyLog)
		if err != nil {
			return sp, fmt.Errorf("instance %s: ready log %q: %w", sp.ID, sp.ReadyLog, err)
		}
		sp.readyLog = re
	}
	return sp, nil
}

// newRunID returns the random id that tells this Run's processes from any other's.
func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand's contract)
	return hex.EncodeToString(b)
}

// orList writes list as people say it: "a, b or c".
func orList(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

func (s *Supervisor) now() time.Time { return s.cfg.Now() }

func (s *Supervisor) backoff(failures int) time.Duration {
	if s.cfg.Backoff != nil {
		return s.cfg.Backoff(failures)
	}
	return defaultBackoff(failures)
}

// backoffCap is the delay between retries of a crash-looping instance, for the
// crash-loop message.
func (s *Supervisor) backoffCap() time.Duration {
	if s.cfg.Backoff != nil {
		return s.cfg.Backoff(1 << 10)
	}
	return backoffCap
}

// goroutine runs f in a goroutine Run waits for.
func (s *Supervisor) goroutine(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// fail makes Run stop everything and return err (the first one wins).
func (s *Supervisor) fail(err error) {
	select {
	case s.fatal <- err:
	default:
	}
}

func (s *Supervisor) instanceReady() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingReady--
	if s.pendingReady <= 0 && !s.readyClosed {
		s.readyClosed = true
		close(s.ready)
	}
}

// processInstanceReady counts one initial instance of process ready for the
// first time; the last one closes procReady[process].
func (s *Supervisor) processInstanceReady(process string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procPending[process]--
	if s.procPending[process] == 0 {
		close(s.procReady[process])
	}
}

// dependencies returns a channel closed once every process in's spec depends
// on has had all its initial instances ready, or nil when there is nothing to
// wait for: no DependsOn, all of them ready already, or in is not an initial
// instance (a scale-up or a later start waits for nobody). It logs what in
// waits for.
func (s *Supervisor) dependencies(ctx context.Context, in *instance) <-chan struct{} {
	if !in.initial {
		return nil
	}
	s.mu.Lock()
	var waits []<-chan struct{}
	var names []string
	for _, name := range in.spec.DependsOn {
		if ch, ok := s.procReady[name]; ok && s.procPending[name] > 0 {
			waits, names = append(waits, ch), append(names, name)
		}
	}
	s.mu.Unlock()
	if len(waits) == 0 {
		return nil
	}
	s.out.logf("%s waits for %s to be ready", in.spec.ID, strings.Join(names, ", "))
	done := make(chan struct{})
	s.goroutine(func() {
		for _, ch := range waits {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			case <-s.killCtx.Done():
				return
			}
		}
		close(done)
	})
	return done
}

// CheckPorts reports every instance port that cannot be bound on 127.0.0.1, each
// naming the process that holds it when /proc tells.
func (s *Supervisor) CheckPorts() error {
	s.mu.Lock()
	specs := make([]InstanceSpec, 0, len(s.instances))
	for _, in := range s.instances {
		specs = append(specs, in.spec)
	}
	s.mu.Unlock()
	return checkPorts(specs)
}

// prepareProcess sets what Run needs of devcluster's own process: inherited
// descriptors close-on-exec, and devcluster the subreaper of its descendants.
// Neither failing stops Run; each is logged.
func (s *Supervisor) prepareProcess() {
	if err := MarkInheritedCloseOnExec(); err != nil {
		s.out.logf("could not mark inherited descriptors close-on-exec (instances may inherit them): %v", err)
	}
	if err := setChildSubreaper(); err != nil {
		s.out.logf("could not become the child subreaper (a detached daemon may outlive its instance): %v", err)
	}
}

// Run checks commands and ports, starts every instance and keeps them running
// until ctx ends (or an instance fails its initial start: a missing command, an
// unusable directory), then stops them all. It returns only when every child has
// been reaped and every goroutine it started has returned. A clean stop returns nil.
func (s *Supervisor) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("supervisor: Run called twice")
	}
	s.started = true
	specs := make([]InstanceSpec, 0, len(s.instances))
	for _, in := range s.instances {
		specs = append(specs, in.spec)
	}
	s.mu.Unlock()
	if err := errors.Join(CheckCommands(specs), checkPorts(specs)); err != nil {
		return err
	}
	s.prepareProcess()
	if err := s.recordRun(); err != nil {
		return err
	}
	defer s.removeRunRecord()
	defer s.removeStandbyScript()
	children.addRun(s.runID)
	defer children.removeRun(s.runID)
	reapDone, reapExited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(reapExited)
		reapLoop(reapDone)
	}()
	defer func() { close(reapDone); <-reapExited }()

	watchR, watchW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create the watchdog pipe: %w", err)
	}
	s.watchR = watchR
	defer func() { _ = watchW.Close(); _ = watchR.Close() }()

	s.spawner = &spawner{reqs: make(chan func())}
	spawnerDone := make(chan struct{})
	spawnerExited := make(chan struct{})
	go func() {
		defer close(spawnerExited)
		s.spawner.run(spawnerDone)
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.runCtx = runCtx
	s.running = true
	if s.pendingReady <= 0 && !s.readyClosed {
		s.readyClosed = true
		close(s.ready)
	}
	for _, in := range s.instances {
		s.goroutine(func() { in.run(runCtx) })
	}
	s.mu.Unlock()
	s.logStandbyProblems(specs)

	var runErr error
	select {
	case <-runCtx.Done():
	case <-s.killCtx.Done():
	case runErr = <-s.fatal:
	}
	cancel()
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	s.wg.Wait()
	s.killRun()
	close(spawnerDone)
	<-spawnerExited
	s.out.closeAll()
	return runErr
}

// Kill SIGKILLs every process group now (the second Ctrl-C) and makes Run return
// as soon as they are reaped, skipping drains and stop timeouts.
func (s *Supervisor) Kill() { s.kill() }

// Ready is closed once every instance Run started has been ready once.
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// Status returns a snapshot of every instance, in manifest order.
func (s *Supervisor) Status() []InstanceStatus {
	s.mu.Lock()
	list := append([]*instance(nil), s.instances...)
	s.mu.Unlock()
	out := make([]InstanceStatus, 0, len(list))
	for _, in := range list {
		out = append(out, in.snapshot())
	}
	return out
}

// Logs returns the last n buffered lines of each of ids (all instances when
// empty), merged in time order; n <= 0 returns everything buffered.
func (s *Supervisor) Logs(ids []string, n int) []LogLine { return s.out.logs(ids, n) }

// Follow returns a channel of every new line of ids (all when empty) until ctx
// ends or Run returns, when it is closed. A reader that falls behind loses lines,
// replaced by a "[devcluster: N lines dropped ...]" marker; children never wait.
func (s *Supervisor) Follow(ctx context.Context, ids []string) <-chan LogLine {
	sub := s.out.subscribe(ids)
	context.AfterFunc(ctx, func() { s.out.unsubscribe(sub) })
	return sub.ch
}

var errNotRunning = errors.New("the cluster is not running")

// lookup returns the running instance id.
func (s *Supervisor) lookup(id string) (*instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil, errNotRunning
	}
	for _, in := range s.instances {
		if in.spec.ID == id {
			return in, nil
		}
	}
	return nil, fmt.Errorf("no instance named %q", id)
}

// processInstances returns process's instances in index order.
func (s *Supervisor) processInstances(process string) []*instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*instance
	for _, in := range s.instances {
		if in.spec.Process == process {
			list = append(list, in)
		}
	}
	return list
}

// StopInstance takes id out of the rotation (drain), stops it, and leaves it
// stopped — no automatic restart — until StartInstance.
func (s *Supervisor) StopInstance(ctx context.Context, id string) error {
	in, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := in.send(ctx, command{kind: cmdStop}); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return nil
}

// StartInstance starts a stopped (or down) instance and returns once it is ready.
func (s *Supervisor) StartInstance(ctx context.Context, id string) error {
	in, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	// The instance's own errors name it and say what failed ("web.2 did not
	// become ready: ...", "start web.2 (port 5001): ..."); only ctx's need a name.
	if err := in.send(ctx, command{kind: cmdStart}); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		return err
	}
	return nil
}
