package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestMain runs the tests, then fails if any goroutine outlived them; as the
// "devcluster" command of the scripts, it fails any command (up above all) that
// returns with a goroutine still running, so every goroutine up starts has an owner
// that waits for it.
func TestMain(m *testing.M) {
	testscript.Main(leakCheckedMain{m}, map[string]func(){
		"devcluster": func() {
			code := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			if err := goleak.Find(); err != nil {
				fmt.Fprintf(os.Stderr, "devcluster left goroutines running: %v\n", err)
				code = 3
			}
			os.Exit(code)
		},
	})
}

type leakCheckedMain struct{ m *testing.M }

func (l leakCheckedMain) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
	}
	return code
}

// TestScripts runs testdata/script/*.txtar: the CLI against real clusters of real
// processes. Scripts that bind fixed ports say so in their name and never run at the
// same time as another script using the same ports.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               func(e *testscript.Env) error { return scriptSetup(e, repo) },
		Condition:           scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waithttp":      cmdWaitHTTP,
			"balance":       cmdBalance,
			"load":          cmdLoad,
			"waitstate":     cmdWaitState,
			"waitfollowers": cmdWaitFollowers,
			"killinst":      cmdKillInstance,
			"waitrestart":   cmdWaitRestart,
			"sigcluster":    cmdSigCluster,
			"savepids":      cmdSavePids,
			"gone":          cmdGone,
			"portfree":      cmdPortFree,
			"fileperm":      cmdFilePerm,
			"holdport":      cmdHoldPort,
			"waitbody":      cmdWaitBody,
			"sameline":      cmdSameLine,
			"setversion": func(ts *testscript.TestScript, neg bool, args []string) {
				editFile(ts, args[0], func(s string) string {
					return versionLine.ReplaceAllString(s, `VERSION = "`+args[1]+`"`)
				})
			},
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				editFile(ts, args[0], func(s string) string {
					if !strings.Contains(s, args[1]) {
						ts.Fatalf("%s does not contain %q", args[0], args[1])
					}
					return strings.Replace(s, args[1], args[2], 1)
				})
			},
			"waitversion":    cmdWaitVersion,
			"waitlog":        cmdWaitLog,
			"balanceversion": cmdBalanceVersion,
			"waitbalancer":   cmdWaitBalancer,
			"jsoninstance":   cmdJSONInstance,
			"standbys":       cmdStandbys,
			"tookover":       cmdTookOver,
			"jsonl":          cmdJSONLines,
			"jsondoc":        cmdJSONDoc,
			// up -d's daemon (script_verbs_test.go)
			"cleanupdown": cmdCleanupDown,
			"killcluster": cmdKillCluster,
			// the workshop scenarios' browser (scenario_test.go)
			"http":         cmdScenarioHTTP,
			"count":        cmdScenarioCount,
			"cookie":       cmdScenarioCookie,
			"p99below":     cmdScenarioP99Below,
			"waitrestarts": cmdScenarioWaitRestarts,
		},
	})
}

// scriptSetup gives every script $REPO and a quiet, colourless environment.
func scriptSetup(e *testscript.Env, repo string) error {
	e.Setenv("REPO", repo)
	e.Setenv("NO_COLOR", "1")
	// A -race binary sleeps 1 s at exit (ThreadSanitizer's atexit_sleep_ms),
	// which would count against "stopped within stop_timeout + 1 s".
	e.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v := os.Getenv(k); v != "" {
			e.Setenv(k, v)
		}
	}
	// version.txtar runs the go command under testscript's HOME=/no-home: it
	// gets this machine's build and module caches, offline, and the toolchain
	// that runs the test; the user's go env file (GOFLAGS) is not read.
	for k, v := range goEnv() {
		e.Setenv(k, v)
	}
	return nil
}

// goEnv is the go command's caches, read once: the build cache and the module
// cache, so that a script's go build compiles nothing it need not and fetches
// nothing.
var goEnv = sync.OnceValue(func() map[string]string {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 3 {
		return nil
	}
	return map[string]string{"GOCACHE": lines[0], "GOMODCACHE": lines[1], "GOPATH": lines[2],
		"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": ""}
})

// scriptCondition answers [tool:NAME], [flask], [django], [fastapi], [redis] and [root]. The
// tool conditions follow tstest.NeedTool's rule: a missing tool makes the condition
// false on a developer's machine (the script's skip line gives the install line) and
// is an error under CI, which fails the script. testscript's own [exec:NAME] skips
// quietly under CI too; TestScriptsNeedToolsOneWay keeps it out of the scripts.
func scriptCondition(cond string) (bool, error) {
	if name, ok := strings.CutPrefix(cond, "tool:"); ok {
		_, err := tstest.LookTool(name)
		return tstest.Condition(err, tstest.InstallLine(name))
	}
	switch cond {
	case "django":
		return tstest.Condition(tstest.PythonHas("/usr/bin/python3", "django"), tstest.ModuleInstallLine("django"))
	case "flask":
		return tstest.Condition(tstest.PythonHas("python3", "flask"), tstest.ModuleInstallLine("flask"))
	case "fastapi":
		return tstest.Condition(tstest.PythonHas("/usr/bin/python3", "fastapi, uvicorn"), "sudo apt-get install -y python3-fastapi python3-uvicorn")
	case "redis":
		// the workshop scenarios run Flask apps that use Redis under /usr/bin/python3
		return tstest.Condition(tstest.PythonHas("/usr/bin/python3", "flask, redis"), "sudo apt-get install -y python3-flask python3-redis")
	case "root":
		return os.Geteuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// argTimeout reads an optional duration argument at index i; 30s when absent.
func argTimeout(ts *testscript.TestScript, args []string, i int) time.Duration {
	if len(args) <= i {
		return 30 * time.Second
	}
	d, err := time.ParseDuration(args[i])
	ts.Check(err)
	return d
}

var scriptHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}}

// waithttp URL [TIMEOUT]: wait until GET URL answers 2xx (default 30s).
// With !, wait until it no longer answers at all.
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: waithttp URL [TIMEOUT]")
	}
	timeout := argTimeout(ts, args, 1)
	var last string
	ok := tstest.Poll(timeout, func() bool {
		resp, err := scriptHTTP.Get(args[0])
		if err != nil {
			last = err.Error()
			return neg
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		last = resp.Status
		if neg {
			return false
		}
		return resp.StatusCode < 300
	})
	if !ok {
		ts.Fatalf("waithttp %s: not reached within %s (last: %s)", args[0], timeout, last)
	}
}

// balance URL N: send N sequential requests and print how many each instance answered,
// one "ID COUNT" line per instance, sorted. Any non-2xx response fails the script.
//
// balance -set URL N prints only which instances answered, one per line: after
// connections were cut (scaling down, restarts) a retried request may shift the exact
// counts by one, which is the proxy doing its job.
func cmdBalance(ts *testscript.TestScript, neg bool, args []string) {
	setOnly := len(args) > 0 && args[0] == "-set"
	if setOnly {
		args = args[1:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: balance [-set] URL N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	// A client of its own, so that no connection of an earlier load is reused.
	// Requests a stopped load abandoned may still be on their way through the
	// proxy, each taking a turn of the round robin: wait until no instance has a
	// request in flight (when a cluster answers here).
	tstest.Poll(10*time.Second, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			return true
		}
		for _, in := range st.Instances {
			if in.Balancer != nil && in.Balancer.Active != 0 {
				return false
			}
		}
		return true
	})
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4, Proxy: nil}}
	defer hc.CloseIdleConnections()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		resp, err := hc.Get(args[0])
		if err != nil {
			ts.Fatalf("request %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			ts.Fatalf("request %d: %s: %s", i+1, resp.Status, body)
		}
		id := resp.Header.Get("X-Devcluster-Instance")
		if !strings.Contains(string(body), id) {
			ts.Fatalf("request %d: header says %q but the body does not: %s", i+1, id, body)
		}
		counts[id]++
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if setOnly {
			fmt.Fprintln(ts.Stdout(), id)
			continue
		}
		fmt.Fprintf(ts.Stdout(), "%s %d\n", id, counts[id])
	}
}

// loadRun is a bounded load loop started by "load start" and ended by "load stop".
type loadRun struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
	seen     sync.Map
	caught   map[string]int // 502s naming an instance as the one that closed: "web.2"
}

var loads sync.Map // *testscript.TestScript → *loadRun

// load start URL CONCURRENCY | load stop [caught INSTANCE MAX]: clients loop on URL (for
// 120 s at most) until stopped; stop prints the counts and fails if any request failed.
// With "caught web.2 8", up to 8 failures may be 502s from web.2 closing the connection
// before its response: requests a killed instance had already received, which the proxy
// does not replay (the retry rule: a request that may have reached the app is never sent
// again, so one that crashes its instance cannot crash the others). Any other failure,
// or more of them than MAX (the number of clients), still fails.
func cmdLoad(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) >= 1 && args[0] == "stop" {
		v, ok := loads.LoadAndDelete(ts)
		if !ok {
			ts.Fatalf("load stop: no load running")
		}
		lr := v.(*loadRun)
		lr.cancel()
		lr.wg.Wait()
		var seen []string
		lr.seen.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
		sort.Strings(seen)
		fails := lr.fail.Load()
		if len(args) == 4 && args[1] == "caught" {
			most, err := strconv.Atoi(args[3])
			ts.Check(err)
			lr.mu.Lock()
			n := lr.caught[args[2]]
			lr.mu.Unlock()
			fmt.Fprintf(ts.Stdout(), "load: %d caught in flight by %s\n", n, args[2])
			if n > most {
				ts.Fatalf("load: %d requests caught in flight by %s, want at most %d", n, args[2], most)
			}
			fails -= int64(n)
		} else if len(args) != 1 {
			ts.Fatalf("usage: load stop [caught INSTANCE MAX]")
		}
		fmt.Fprintf(ts.Stdout(), "load: %d ok, %d failed, instances %s\n", lr.ok.Load(), fails, strings.Join(seen, " "))
		if fails > 0 {
			ts.Fatalf("load: %d failed requests, first: %s", lr.fail.Load(), strings.Join(lr.errs, "; "))
		}
		return
	}
	if len(args) != 3 || args[0] != "start" {
		ts.Fatalf("usage: load start URL CONCURRENCY | load stop")
	}
	conc, err := strconv.Atoi(args[2])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	lr := &loadRun{cancel: cancel}
	loads.Store(ts, lr)
	ts.Defer(func() {
		cancel()
		lr.wg.Wait()
	})
	for i := 0; i < conc; i++ {
		lr.wg.Add(1)
		go func() {
			defer lr.wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", args[1], nil)
				resp, err := scriptHTTP.Do(req)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					lr.record(err.Error())
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					lr.recordStatus(resp.StatusCode, resp.Status, string(body))
					continue
				}
				lr.seen.Store(resp.Header.Get("X-Devcluster-Instance"), true)
				lr.ok.Add(1)
			}
		}()
	}
}

// recordStatus records a failed answer; a 502 whose body says which instance closed
// the connection before its response is also counted against that instance.
func (lr *loadRun) recordStatus(code int, status, body string) {
	if code == http.StatusBadGateway && strings.Contains(body, " before a response") {
		if i := strings.Index(body, " ("); i > 0 {
			id := body[strings.LastIndex(body[:i], " ")+1 : i]
			lr.mu.Lock()
			if lr.caught == nil {
				lr.caught = map[string]int{}
			}
			lr.caught[id]++
			lr.mu.Unlock()
		}
	}
	lr.record(status + ": " + strings.TrimSpace(body))
}

func (lr *loadRun) record(msg string) {
	lr.fail.Add(1)
	lr.mu.Lock()
	if len(lr.errs) < 3 {
		lr.errs = append(lr.errs, msg)
	}
	lr.mu.Unlock()
}

// clusterDir is where the script's cluster keeps its socket: $CLUSTER, else the
// current directory.
func clusterDir(ts *testscript.TestScript) string {
	if d := ts.Getenv("CLUSTER"); d != "" {
		return d
	}
	return ts.MkAbs(".")
}

func scriptStatus(ts *testscript.TestScript) (control.Status, error) {
	c, err := control.Dial(control.SocketPath(clusterDir(ts)))
	if err != nil {
		return control.Status{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Status(ctx)
}

// waitstate ID STATE [TIMEOUT]: wait until instance ID is in STATE ("gone" waits until
// the cluster no longer lists it).
func cmdWaitState(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: waitstate ID STATE [TIMEOUT]")
	}
	timeout := argTimeout(ts, args, 2)
	var last string
	ok := tstest.Poll(timeout, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, in := range st.Instances {
			if in.ID == args[0] {
				last = in.State
				return in.State == args[1]
			}
		}
		last = "not listed"
		return args[1] == "gone"
	})
	if !ok {
		ts.Fatalf("waitstate %s %s: not reached within %s (last: %s)", args[0], args[1], timeout, last)
	}
}

// waitfollowers N [TIMEOUT]: wait until N devcluster logs -f streams are open
// (a background logs -f has connected), so that what follows reaches it.
func cmdWaitFollowers(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: waitfollowers N [TIMEOUT]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	timeout := argTimeout(ts, args, 1)
	last := -1
	if !tstest.Poll(timeout, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			return false
		}
		last = st.Followers
		return st.Followers >= n
	}) {
		ts.Fatalf("waitfollowers %d: not reached within %s (last: %d)", n, timeout, last)
	}
}

var killed sync.Map // *testscript.TestScript → pid killed by killinst

// waitrestart ID [TIMEOUT]: wait until instance ID is ready again with a new pid after
// killinst.
func cmdWaitRestart(ts *testscript.TestScript, neg bool, args []string) {
	old, ok := killed.Load(ts)
	if !ok {
		ts.Fatalf("waitrestart: no killinst before")
	}
	timeout := argTimeout(ts, args, 1)
	var last string
	if !tstest.Poll(timeout, func() bool {
		st, err := scriptStatus(ts)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, in := range st.Instances {
			if in.ID == args[0] {
				last = fmt.Sprintf("%s pid %d", in.State, in.PID)
				return in.State == "ready" && in.PID != old.(int) && in.PID > 0
			}
		}
		return false
	}) {
		ts.Fatalf("waitrestart %s: not ready with a new pid within %s (last: %s)", args[0], timeout, last)
	}
}

// killinst ID: SIGKILL the process of one instance, as a crash would.
func cmdKillInstance(ts *testscript.TestScript, neg bool, args []string) {
	st, err := scriptStatus(ts)
	ts.Check(err)
	for _, in := range st.Instances {
		if in.ID == args[0] {
			if in.PID <= 0 {
				ts.Fatalf("%s has no pid (state %s)", in.ID, in.State)
			}
			killed.Store(ts, in.PID)
			ts.Check(syscall.Kill(in.PID, syscall.SIGKILL))
			fmt.Fprintf(ts.Stdout(), "killed %s pid %d\n", in.ID, in.PID)
			return
		}
	}
	ts.Fatalf("no instance %s", args[0])
}

// savepids FILE: write the pids of every instance and of their process groups' members.
func cmdSavePids(ts *testscript.TestScript, neg bool, args []string) {
	st, err := scriptStatus(ts)
	ts.Check(err)
	pids := map[int]bool{}
	for _, in := range st.Instances {
		if in.PID > 0 {
			pids[in.PID] = true
			for _, p := range groupMembers(in.PID) {
				pids[p] = true
			}
		}
	}
	var lines []string
	for p := range pids {
		lines = append(lines, strconv.Itoa(p))
	}
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

// groupMembers lists every process in process group pgid, found through /proc.
func groupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// gone FILE [TIMEOUT]: every pid listed in FILE has exited (default: now, or within TIMEOUT).
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	timeout := time.Duration(0)
	if len(args) > 1 {
		timeout, err = time.ParseDuration(args[1])
		ts.Check(err)
	}
	var alive []string
	tstest.Poll(timeout, func() bool {
		alive = alive[:0]
		for _, f := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(f)
			if processAlive(pid) {
				alive = append(alive, f)
			}
		}
		return len(alive) == 0
	})
	if len(alive) > 0 {
		ts.Fatalf("still running: pids %s", strings.Join(alive, " "))
	}
}

// processAlive is true for a live, non-zombie process.
func processAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// portfree PORT...: nothing listens on 127.0.0.1:PORT.
func cmdPortFree(ts *testscript.TestScript, neg bool, args []string) {
	for _, p := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			if !neg {
				ts.Fatalf("port %s is still in use: %v", p, err)
			}
			continue
		}
		ln.Close()
		if neg {
			ts.Fatalf("port %s is free, want it in use", p)
		}
	}
}

// fileperm MODE PATH: the permission bits of PATH are MODE (octal).
func cmdFilePerm(ts *testscript.TestScript, neg bool, args []string) {
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := uint64(fi.Mode().Perm()); got != want {
		ts.Fatalf("%s: mode %o, want %o", args[1], got, want)
	}
}

var versionLine = regexp.MustCompile(`VERSION = "[^"\n]*"`)

// editFile rewrites a file the way editors save: write a temporary file, rename it over.
func editFile(ts *testscript.TestScript, name string, change func(string) string) {
	path := ts.MkAbs(name)
	data, err := os.ReadFile(path)
	ts.Check(err)
	tmp := path + ".devcluster-test~"
	ts.Check(os.WriteFile(tmp, []byte(change(string(data))), 0o644))
	ts.Check(os.Rename(tmp, path))
}

func getBody(url string) (string, string, error) {
	resp, err := scriptHTTP.Get(url)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return "", "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), resp.Header.Get("X-Devcluster-Instance"), err
}

// waitbody URL TEXT [TIMEOUT]: wait until GET URL answers 2xx with TEXT in the body.
func cmdWaitBody(ts *testscript.TestScript, neg bool, args []string) {
	timeout := argTimeout(ts, args, 2)
	var last string
	if !tstest.Poll(timeout, func() bool {
		body, _, err := getBody(args[0])
		if err != nil {
			last = err.Error()
			return false
		}
		last = body
		return strings.Contains(body, args[1])
	}) {
		ts.Fatalf("waitbody %s %q: not within %s (last: %s)", args[0], args[1], timeout, last)
	}
}

// waitversion PORT... VERSION: wait until every instance, asked directly on its port,
// answers with VERSION.
func cmdWaitVersion(ts *testscript.TestScript, neg bool, args []string) {
	want := args[len(args)-1]
	for _, port := range args[:len(args)-1] {
		cmdWaitBody(ts, false, []string{"http://127.0.0.1:" + port + "/", want, "30s"})
	}
}

// balanceversion URL N VERSION: N requests through the proxy all answer with VERSION.
func cmdBalanceVersion(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	for i := 0; i < n; i++ {
		body, id, err := getBody(args[0])
		if err != nil {
			ts.Fatalf("request %d: %v", i+1, err)
		}
		if !strings.Contains(body, args[2]) {
			ts.Fatalf("request %d answered by %s: %q, want %s", i+1, id, body, args[2])
		}
	}
}

// waitlog ID TEXT [TIMEOUT]: wait until the recent output of instance ID contains TEXT.
func cmdWaitLog(ts *testscript.TestScript, neg bool, args []string) {
	timeout := argTimeout(ts, args, 2)
	if !tstest.Poll(timeout, func() bool {
		c, err := control.Dial(control.SocketPath(clusterDir(ts)))
		if err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		found := false
		c.Logs(ctx, []string{args[0]}, 200, false, func(l control.LogLine) error {
			if strings.Contains(l.Text, args[1]) {
				found = true
			}
			return nil
		})
		return found
	}) {
		ts.Fatalf("waitlog %s %q: not within %s", args[0], args[1], timeout)
	}
}

// holdport PORT: listen on 127.0.0.1:PORT until the script ends.
func cmdHoldPort(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+args[0])
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
}

// sigcluster SIGNAL [WITHIN]: send SIGNAL (INT, TERM, HUP) to the devcluster up process
// of this script's cluster; with WITHIN, fail unless that process has exited by then.
func cmdSigCluster(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP}
	sig, ok := sigs[args[0]]
	if !ok {
		ts.Fatalf("sigcluster: unknown signal %q", args[0])
	}
	st, err := scriptStatus(ts)
	ts.Check(err)
	ts.Check(syscall.Kill(st.PID, sig))
	if len(args) < 2 {
		return
	}
	within := argTimeout(ts, args, 1)
	if !tstest.Poll(within, func() bool { return !processAlive(st.PID) }) {
		ts.Fatalf("devcluster pid %d still running %s after SIG%s", st.PID, within, args[0])
	}
}

// sameline REGEXP FILE_A FILE_B: the first line of FILE_A matching REGEXP is
// there and is the same as FILE_B's (two receipts of devcluster load that must
// agree on who answered, whatever their timings).
func cmdSameLine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: sameline REGEXP FILE_A FILE_B")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	line := func(name string) string {
		for _, l := range strings.Split(ts.ReadFile(name), "\n") {
			if re.MatchString(l) {
				return l
			}
		}
		ts.Fatalf("%s has no line matching %s", name, args[0])
		return ""
	}
	a, b := line(args[1]), line(args[2])
	if (a == b) == neg {
		ts.Fatalf("%s: %q\n%s: %q\nwant them %sthe same", args[1], a, args[2], b, map[bool]string{true: "not "}[neg])
	}
}
