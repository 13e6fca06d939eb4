package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/tstest"
)

// Script commands for the workshop scenarios (examples/scenarios, issue 13). They do
// what a browser does in each scenario's README: log in and keep the cookie, submit a
// form, upload a file, reload a page N times and count what came back. Every one of
// them talks to the proxy (or an instance) over real HTTP.

// scenarioJars holds one cookie jar per script: the browser of the README.
var scenarioJars sync.Map // *testscript.TestScript → *cookiejar.Jar

func scenarioJar(ts *testscript.TestScript, fresh bool) *cookiejar.Jar {
	if !fresh {
		if v, ok := scenarioJars.Load(ts); ok {
			return v.(*cookiejar.Jar)
		}
	}
	jar, err := cookiejar.New(nil)
	ts.Check(err)
	scenarioJars.Store(ts, jar)
	ts.Defer(func() { scenarioJars.Delete(ts) })
	return jar
}

// scenarioRequest is one request as the flags of http and count describe it.
type scenarioRequest struct {
	method, url string
	form        url.Values
	file        [3]string // field, file name, content
	fresh       bool
}

// parseScenarioRequest reads [-fresh] [-form k=v]... [-file field=name:content] METHOD URL.
func parseScenarioRequest(ts *testscript.TestScript, args []string, usage string) (scenarioRequest, []string) {
	r := scenarioRequest{form: url.Values{}}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-fresh":
			r.fresh = true
			args = args[1:]
			continue
		case len(args) < 2:
		case args[0] == "-form":
			k, v, ok := strings.Cut(args[1], "=")
			if !ok {
				ts.Fatalf("-form %q: want KEY=VALUE", args[1])
			}
			r.form.Add(k, v)
			args = args[2:]
			continue
		case args[0] == "-file":
			field, rest, ok1 := strings.Cut(args[1], "=")
			name, content, ok2 := strings.Cut(rest, ":")
			if !ok1 || !ok2 {
				ts.Fatalf("-file %q: want FIELD=NAME:CONTENT", args[1])
			}
			r.file = [3]string{field, name, content}
			args = args[2:]
			continue
		}
		ts.Fatalf("usage: %s", usage)
	}
	if len(args) < 2 {
		ts.Fatalf("usage: %s", usage)
	}
	r.method, r.url = args[0], args[1]
	return r, args[2:]
}

// do sends r with the script's cookie jar and returns the status, the instance that
// answered (X-Devcluster-Instance) and the body.
func (r scenarioRequest) do(ts *testscript.TestScript, jar *cookiejar.Jar) (int, string, string, error) {
	var body io.Reader
	ctype := ""
	switch {
	case r.file[0] != "":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, vs := range r.form {
			for _, v := range vs {
				w.WriteField(k, v)
			}
		}
		fw, err := w.CreateFormFile(r.file[0], r.file[1])
		ts.Check(err)
		io.WriteString(fw, r.file[2])
		ts.Check(w.Close())
		body, ctype = &buf, w.FormDataContentType()
	case len(r.form) > 0:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(r.method, r.url, body)
	ts.Check(err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	// Redirects are followed, as a browser follows the one after a form: the status
	// and body are those of the page the user ends up on.
	client := &http.Client{Jar: jar, Transport: scriptHTTP.Transport, Timeout: scriptHTTP.Timeout}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Devcluster-Instance"), string(data), err
}

// http [-fresh] [-form KEY=VALUE]... [-file FIELD=NAME:CONTENT] METHOD URL: one request
// as a browser sends it, keeping cookies in the script's jar (-fresh: a new jar, a new
// browser). Prints "STATUS INSTANCE" then the body, and sets $INSTANCE to the instance
// that answered. Fails on a transport error.
func cmdScenarioHTTP(ts *testscript.TestScript, neg bool, args []string) {
	r, rest := parseScenarioRequest(ts, args, "http [-fresh] [-form K=V]... [-file F=NAME:CONTENT] METHOD URL")
	if len(rest) > 0 {
		ts.Fatalf("http: unexpected arguments %q", rest)
	}
	status, inst, body, err := r.do(ts, scenarioJar(ts, r.fresh))
	if err != nil {
		ts.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	ts.Setenv("INSTANCE", inst)
	fmt.Fprintf(ts.Stdout(), "%d %s\n%s", status, inst, body)
}

// count [-form KEY=VALUE]... N METHOD URL TEXT: send the same request N times, one after
// the other, with the script's cookies, and print how many answers contained TEXT:
//
//	20 requests: 7 with "alice", 13 without (web.2 7, web.3 6)
//
// The instances in brackets are those that answered without TEXT, so the line says
// both the rate of a bug and where it lives. A transport error fails the script.
func cmdScenarioCount(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "count [-form K=V]... N METHOD URL TEXT"
	flags := 0
	for flags < len(args) && strings.HasPrefix(args[flags], "-") {
		flags += 2
	}
	if len(args) != flags+4 {
		ts.Fatalf("usage: %s", usage)
	}
	n, err := strconv.Atoi(args[flags])
	ts.Check(err)
	r, rest := parseScenarioRequest(ts, append(append([]string{}, args[:flags]...), args[flags+1:]...), usage)
	text := rest[0]
	jar := scenarioJar(ts, false)
	with := 0
	without := map[string]int{}
	for i := 0; i < n; i++ {
		status, inst, body, err := r.do(ts, jar)
		if err != nil {
			ts.Fatalf("request %d: %s %s: %v", i+1, r.method, r.url, err)
		}
		if strings.Contains(body, text) {
			with++
			continue
		}
		if status >= 300 {
			inst += " " + strconv.Itoa(status)
		}
		without[inst]++
	}
	var where []string
	for inst, c := range without {
		where = append(where, fmt.Sprintf("%s %d", inst, c))
	}
	sort.Strings(where)
	line := fmt.Sprintf("%d requests: %d with %q, %d without", n, with, text, n-with)
	if len(where) > 0 {
		line += " (" + strings.Join(where, ", ") + ")"
	}
	fmt.Fprintln(ts.Stdout(), line)
}

// cookie URL NAME VAR: set $VAR to NAME=VALUE, the cookie the script's jar sends to URL,
// for a Cookie header (devcluster probe -H 'Cookie: '$VAR).
func cmdScenarioCookie(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: cookie URL NAME VAR")
	}
	u, err := url.Parse(args[0])
	ts.Check(err)
	for _, c := range scenarioJar(ts, false).Cookies(u) {
		if c.Name == args[1] {
			ts.Setenv(args[2], c.Name+"="+c.Value)
			return
		}
	}
	ts.Fatalf("no cookie %s for %s", args[1], args[0])
}

var p99Line = regexp.MustCompile(`(?m)\bp99 ([0-9.]+)(µs|ms|s)\b`)

// p99below FILE_A FILE_B: the "p99 N ms" that FILE_A reports (the receipt of a
// scenario's devcluster load: "p99 12.3ms", "p99 1.20s" or "p99 800µs") is
// below FILE_B's.
func cmdScenarioP99Below(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: p99below FILE_A FILE_B")
	}
	read := func(name string) float64 {
		data, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		m := p99Line.FindSubmatch(data)
		if m == nil {
			ts.Fatalf("%s has no \"p99 N ms\": %s", name, data)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		ts.Check(err)
		return v * map[string]float64{"µs": 0.001, "ms": 1, "s": 1000}[string(m[2])]
	}
	a, b := read(args[0]), read(args[1])
	fmt.Fprintf(ts.Stdout(), "p99 %s %.1f ms, %s %.1f ms\n", args[0], a, args[1], b)
	if (a < b) == neg {
		ts.Fatalf("p99 of %s is %.1f ms, of %s %.1f ms: want the first %sbelow the second", args[0], a, args[1], b, map[bool]string{true: "not "}[neg])
	}
}

// waitrestarts ID N [TIMEOUT]: wait until instance ID is ready and has been restarted
// N times (ID "total": every instance ready, N restarts in all), then print every
// instance's restarts ("restarts: web.1 0, web.2 1, web.3 0"), so a script can say
// that one crash restarted one instance, not three.
func cmdScenarioWaitRestarts(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: waitrestarts ID|total N [TIMEOUT]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	timeout := argTimeout(ts, args, 2)
	var st control.Status
	var last string
	if !tstest.Poll(timeout, func() bool {
		st, err = scriptStatus(ts)
		if err != nil {
			last = err.Error()
			return false
		}
		total, ready, found := 0, true, false
		for _, in := range st.Instances {
			total += in.Restarts
			ready = ready && in.State == control.StateReady
			if in.ID == args[0] {
				found = true
				last = fmt.Sprintf("%s, %d restarts", in.State, in.Restarts)
				return in.State == control.StateReady && in.Restarts == n
			}
		}
		if args[0] != "total" {
			if !found {
				last = "not listed"
			}
			return false
		}
		last = fmt.Sprintf("%d restarts in all, every instance ready: %v", total, ready)
		return ready && total == n
	}) {
		ts.Fatalf("waitrestarts %s %d: not within %s (last: %s)", args[0], n, timeout, last)
	}
	var counts []string
	for _, in := range st.Instances {
		counts = append(counts, fmt.Sprintf("%s %d", in.ID, in.Restarts))
	}
	fmt.Fprintf(ts.Stdout(), "restarts: %s\n", strings.Join(counts, ", "))
}

// shBlock matches a ```sh block of a README: the commands a reader types.
var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// readmeCommands lists the commands of md's sh blocks, without comments and blank
// lines; cd is left out (the scripts cd into the copy of the directory).
func readmeCommands(md string) []string {
	var cmds []string
	for _, m := range shBlock.FindAllStringSubmatch(md, -1) {
		for _, line := range strings.Split(m[1], "\n") {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "cd ") {
				cmds = append(cmds, line)
			}
		}
	}
	return cmds
}

var (
	scriptListen = regexp.MustCompile(` --listen 127\.0\.0\.1:[0-9]+`)
	scriptURL    = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	scriptBg     = regexp.MustCompile(` &[a-z0-9]*&$`)
)

// scriptCommands lists the commands of a scenario script as a reader would type them:
// "exec", "!" and "?" dropped, the --listen the script adds to check and up removed, its proxy
// port written 8080 and $INSTANCE (the instance a page named) any instance.
func scriptCommands(script string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(line, "-- ") {
			break
		}
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(line, "! "), "? "), "exec ")
		line = scriptBg.ReplaceAllString(scriptListen.ReplaceAllString(line, ""), "")
		line = scriptURL.ReplaceAllString(line, "127.0.0.1:8080")
		re := strings.ReplaceAll(regexp.QuoteMeta(line), `\$INSTANCE`, `web\.[0-9]+`)
		out = append(out, regexp.MustCompile("^"+re+"$"))
	}
	return out
}

func covered(cmd string, by []*regexp.Regexp) bool {
	for _, re := range by {
		if re.MatchString(cmd) {
			return true
		}
	}
	return false
}

// TestScenarioCommandsAreTested keeps issue 13's rule that a command in a scenario's
// README, or in WORKSHOP.md, that no test runs is a defect: each one must be a command
// of the scenario's script (of any scenario's, for WORKSHOP.md), up to the --listen the
// scripts add. WORKSHOP.md's set-up commands (the repository's own scripts, go, export)
// are the README's and are left out.
func TestScenarioCommandsAreTested(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("../../examples/scenarios/[0-9][0-9]-*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenario directories (%v)", err)
	}
	var all []*regexp.Regexp
	for _, dir := range dirs {
		name := filepath.Base(dir)
		script, err := os.ReadFile(filepath.Join("testdata/script", "scenario_"+strings.ReplaceAll(name, "-", "_")+".txtar"))
		if err != nil {
			t.Errorf("%s has no script: %v", name, err)
			continue
		}
		by := scriptCommands(string(script))
		all = append(all, by...)
		md, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, cmd := range readmeCommands(string(md)) {
			if !covered(cmd, by) {
				t.Errorf("%s/README.md: %q is run by no line of its script", name, cmd)
			}
		}
	}
	md, err := os.ReadFile("../../WORKSHOP.md")
	if err != nil {
		t.Fatal(err)
	}
	setup := regexp.MustCompile(`^(scripts/|go |export )`)
	for _, cmd := range readmeCommands(string(md)) {
		if !setup.MatchString(cmd) && !covered(cmd, all) {
			t.Errorf("WORKSHOP.md: %q is run by no scenario script", cmd)
		}
	}
}

// TestScenarioPortsAreTheirOwn: the ports a scenario script binds (its manifests' and
// its --listen, all in 21000-26999) appear in no other script, since scripts run in
// parallel; two scripts added at the same time took 23000 and 23500 once.
func TestScenarioPortsAreTheirOwn(t *testing.T) {
	t.Parallel()
	scripts, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	number := regexp.MustCompile(`\b2[1-6][0-9]{3}\b`)
	owner := map[string]string{} // port → scenario script
	others := map[string][]string{}
	for _, path := range scripts {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		for _, port := range number.FindAllString(string(data), -1) {
			if strings.HasPrefix(name, "scenario_") {
				if o, ok := owner[port]; ok && o != name {
					t.Errorf("port %s is in both %s and %s", port, o, name)
				}
				owner[port] = name
			} else {
				others[port] = append(others[port], name)
			}
		}
	}
	for port, name := range owner {
		if len(others[port]) > 0 {
			t.Errorf("port %s of %s is also in %s", port, name, strings.Join(others[port], ", "))
		}
	}
}
