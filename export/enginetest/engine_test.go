package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// Published ports, one per project: 18700-18799 belongs to these tests.
const (
	portComposeHAProxy = 18701
	portComposeNginx   = 18702
	portComposeDjango  = 18703
	portSwarm          = 18710
)

// cmdTimeout bounds every docker and devcluster command: an image build from
// the prepared base takes seconds, a compose up a few more.
const cmdTimeout = 3 * time.Minute

var (
	devclusterOnce sync.Once
	devclusterBin  string
	devclusterErr  error

	baseOnce  sync.Once
	baseName  string
	baseErr   error
	baseTaken time.Duration
)

// needEngine skips (locally) or fails (under CI) when the docker CLI is not
// there or the engine does not answer.
func needEngine(t *testing.T) string {
	t.Helper()
	docker := tstest.NeedTool(t, "docker", "apt-get install docker.io (and start the engine)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker, "info", "-f", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		tstest.MissingTool(t, "a running Docker engine (docker info: "+strings.TrimSpace(string(out))+")", "systemctl start docker")
	}
	return docker
}

// baseImage runs scripts/base-image.sh once per test binary and returns the
// image it names on its last line: seconds when .ci/run (or an earlier run)
// built it already, a few minutes on a fresh machine.
func baseImage(t *testing.T) string {
	t.Helper()
	tstest.NeedTool(t, "debootstrap", "apt-get install debootstrap")
	baseOnce.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "../../scripts/base-image.sh")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		baseTaken = time.Since(start)
		lines := strings.Fields(string(out))
		if err != nil || len(lines) == 0 {
			baseErr = fmt.Errorf("scripts/base-image.sh: %v\n%s", err, stderr.String())
			return
		}
		baseName = lines[len(lines)-1]
	})
	if baseErr != nil {
		t.Fatal(baseErr)
	}
	t.Logf("base image %s (scripts/base-image.sh took %s)", baseName, baseTaken.Round(time.Millisecond))
	return baseName
}

// devcluster builds the command once per test binary: the tests run the
// everyday workflow, devcluster export then the engine's own command.
func devcluster(t *testing.T) string {
	t.Helper()
	devclusterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "devcluster-enginetest-")
		if err != nil {
			devclusterErr = err
			return
		}
		devclusterBin = filepath.Join(dir, "devcluster")
		out, err := exec.Command("go", "build", "-o", devclusterBin, "github.com/devcluster/devcluster/cmd/devcluster").CombinedOutput()
		if err != nil {
			devclusterErr = fmt.Errorf("go build ./cmd/devcluster: %v\n%s", err, out)
		}
	})
	if devclusterErr != nil {
		t.Fatal(devclusterErr)
	}
	return devclusterBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if devclusterBin != "" {
		os.RemoveAll(filepath.Dir(devclusterBin))
	}
	os.Exit(code)
}

// runName is unique to this run of the tests and to one test: projects,
// stacks, networks and images are named after it.
func runName(kind string) string {
	return fmt.Sprintf("dcet%s%d%x", kind, os.Getpid()%10000, time.Now().UnixNano()%0xfffff)
}

// run runs a command with a deadline in dir and returns its output; a failure
// fails the test with the output.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := try(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// try is run that returns the error, for cleanups and polls.
func try(dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// leftovers lists what the engine still holds with the label: containers,
// networks, volumes (and, for a stack, configs), one "kind name" a line.
func leftovers(docker, label string) []string {
	var out []string
	for _, kind := range []string{"container", "network", "volume", "config"} {
		args := []string{kind, "ls", "-q", "--filter", "label=" + label}
		if kind == "container" {
			args = []string{"ps", "-aq", "--filter", "label=" + label}
		}
		o, err := try("", docker, args...)
		if err != nil {
			if kind == "config" { // only a swarm manager has configs
				continue
			}
			out = append(out, kind+" ls failed: "+strings.TrimSpace(o))
			continue
		}
		for _, id := range strings.Fields(o) {
			out = append(out, kind+" "+id)
		}
	}
	return out
}

// removeImages removes every image of the repository (the app's, named
// after the run), so that the runs leave only the cached base.
func removeImages(docker, repo string) {
	out, _ := try("", docker, "images", "-q", repo)
	if ids := strings.Fields(out); len(ids) > 0 {
		try("", docker, append([]string{"rmi", "-f"}, slices.Compact(ids)...)...)
	}
}

// flaskApp copies the Flask example into a new directory with a manifest of
// its own: the example's app, VERSION and all, served by the same command as
// Procfile.example but on every address of the container.
func flaskApp(t *testing.T, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("../../examples/flask/app.py")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app.py"), string(data))
	writeFile(t, filepath.Join(dir, "devcluster.yaml"), manifest)
	return dir
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editApp rewrites one line of app.py, as a developer's save does.
func editApp(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, "app.py")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("app.py has no %q", old)
	}
	writeFile(t, path, strings.Replace(string(data), old, new, 1))
}

// answer is what the examples say about themselves with ?format=json.
type answer struct {
	Instance string `json:"instance"`
	Version  string `json:"version"`
}

// client is one keep-alive client with no cookie jar, so a sticky balancer
// spreads it as it spreads a new visitor every time.
func client() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}
}

// ask sends one GET through the balancer and returns who answered.
func ask(hc *http.Client, port int) (answer, error) {
	var a answer
	_, err := getJSON(hc, "http://127.0.0.1:"+strconv.Itoa(port)+"/?format=json", &a, func() bool { return a.Instance != "" })
	return a, err
}

// getJSON sends one GET and decodes its 200 answer into v; ok says whether
// v is the answer the test expects.
func getJSON(hc *http.Client, url string, v any, ok func() bool) (*http.Response, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %q", resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil || !ok() {
		return nil, fmt.Errorf("not the app's answer: %q", body)
	}
	return resp, nil
}

// tally sends n requests one after another and counts them by instance; a
// failed request is counted, not fatal, so that a test can say how many.
func tally(hc *http.Client, port, n int) (counts map[string]int, versions map[string]int, failed []string) {
	counts, versions = map[string]int{}, map[string]int{}
	for range n {
		a, err := ask(hc, port)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		counts[a.Instance]++
		versions[a.Version]++
	}
	return counts, versions, failed
}

// shares is a tally's counts largest first: "10/10/10".
func shares(counts map[string]int) string {
	var n []int
	for _, c := range counts {
		n = append(n, c)
	}
	slices.Sort(n)
	slices.Reverse(n)
	var s []string
	for _, c := range n {
		s = append(s, strconv.Itoa(c))
	}
	return strings.Join(s, "/")
}

// waitInstances waits until n different instances have answered through the
// balancer: the replicas are up and the balancer has found them all.
func waitInstances(t *testing.T, port, n int, timeout time.Duration) {
	t.Helper()
	hc := client()
	seen := map[string]bool{}
	var last error
	waitEvery(t, timeout, 50*time.Millisecond, func() string {
		return fmt.Sprintf("%d instances answering through port %d (seen %v, last error %v)", n, port, seen, last)
	}, func() bool {
		a, err := ask(hc, port)
		if err != nil {
			last = err
			return false
		}
		seen[a.Instance] = true
		return len(seen) >= n
	})
}

// waitEvery polls cond every interval until it holds, or fails the test
// after timeout saying what it waited for. The docker CLI is polled every
// few hundred milliseconds, not at tstest's 5 ms: each call is a process.
func waitEvery(t *testing.T, timeout, interval time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what())
		}
		time.Sleep(interval)
	}
}
