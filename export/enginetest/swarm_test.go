package enginetest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// swarmManifest: the Flask example, its health path checked every second,
// out after five failed checks of 3 s (the balancer's and Docker's): a
// replica of a healthy image is never taken for a broken one on a machine
// at load 35, where docker exec alone can take seconds.
var swarmManifest = "processes:\n  web:\n    command: python3 -m flask --app app run --no-reload --port $PORT\n" +
	"    health:\n      path: /health\n      interval: 1s\n      timeout: 3s\n      fall: 5\n" +
	"proxy:\n  listen: 127.0.0.1:" + strconv.Itoa(portSwarm) + "\n"

// Bounds of the load that runs through each update: 20 clients, each at most
// 4 requests a second and 1,500 in all, for at most 4 minutes.
const (
	loadClients   = 20
	loadEvery     = 250 * time.Millisecond
	loadPerClient = 1500
	loadLimit     = 4 * time.Minute
)

// TestSwarmRollingUpdate (issue 19, done-when 3) makes a one-node swarm on
// loopback, deploys the export swarm --build stack of the Flask example (3
// healthy replicas, 30 requests spread 10/10/10 by web.1..3), then runs the
// everyday workflow twice under 20 clients: the app answers v2, export swarm
// --build and docker stack deploy again: 0 failed requests and every replica
// on v2; then an image whose health check fails: Swarm rolls it back by
// itself, again with 0 failed requests, and v2 still answers. docker stack rm
// and docker swarm leave --force leave no container, network, config or
// swarm state.
func TestSwarmRollingUpdate(t *testing.T) {
	// Not beside the compose projects: on a busy machine their builds slowed
	// Docker's exec-based checks until Swarm replaced healthy replicas.
	docker := needEngine(t)
	base := baseImage(t)
	dc := devcluster(t)
	if state := strings.TrimSpace(run(t, "", docker, "info", "-f", "{{.Swarm.LocalNodeState}}")); state != "inactive" {
		t.Fatalf("the engine is in a swarm already (%s); this test makes its own on loopback and leaves it: docker swarm leave --force", state)
	}
	stack := runName("s")
	app := flaskApp(t, swarmManifest)
	out := t.TempDir()
	networksBefore := strings.Fields(run(t, "", docker, "network", "ls", "-q", "--filter", "name=docker_gwbridge"))

	teardown := func() []string {
		try("", docker, "stack", "rm", stack)
		var left []string
		gone := func() bool { left = leftovers(docker, "com.docker.stack.namespace="+stack); return len(left) == 0 }
		deadline := time.Now().Add(90 * time.Second)
		for !gone() && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
		if o, err := try("", docker, "swarm", "leave", "--force"); err != nil && !strings.Contains(o, "not part of a swarm") {
			left = append(left, "swarm leave: "+strings.TrimSpace(o))
		}
		if len(networksBefore) == 0 { // swarm init made docker_gwbridge
			try("", docker, "network", "rm", "docker_gwbridge")
		}
		if state, _ := try("", docker, "info", "-f", "{{.Swarm.LocalNodeState}}"); strings.TrimSpace(state) != "inactive" {
			left = append(left, "swarm state "+strings.TrimSpace(state))
		}
		if ids, _ := try("", docker, "network", "ls", "-q", "--filter", "name=docker_gwbridge"); len(networksBefore) == 0 && strings.TrimSpace(ids) != "" {
			left = append(left, "network docker_gwbridge")
		}
		return left
	}
	t.Cleanup(func() {
		teardown()
		removeImages(docker, stack)
	})
	run(t, "", docker, "swarm", "init", "--advertise-addr", "127.0.0.1")

	exportAndDeploy := func() string {
		run(t, app, dc, "export", "swarm", "--build", "-m", "web=3", "--app", stack,
			"--base-image", base, "--balancer-image", base, "-o", out)
		image := stackImage(t, filepath.Join(out, "stack.yaml"))
		run(t, out, docker, "stack", "deploy", "-c", "stack.yaml", stack)
		return image
	}
	v1 := exportAndDeploy()
	waitReplicas(t, docker, stack+"_web", v1, 3, 3*time.Minute)
	waitInstances(t, portSwarm, 3, time.Minute)
	counts, _, failed := tally(client(), portSwarm, 30)
	t.Logf("30 requests: %v", counts)
	if want := map[string]int{"web.1": 10, "web.2": 10, "web.3": 10}; len(failed) > 0 || !mapsEqual(counts, want) {
		t.Errorf("30 requests through the stack's balancer: %v, failed %v; want %v", counts, failed, want)
	}

	// The everyday workflow: edit, export --build, deploy; under load.
	editApp(t, app, `VERSION = "v1"`, `VERSION = "v2"`)
	l := startLoad(portSwarm)
	start := time.Now()
	v2 := exportAndDeploy()
	if v2 == v1 {
		t.Fatalf("export swarm --build gave the changed app the same image %s", v1)
	}
	waitUpdate(t, docker, stack+"_web", "completed", 4*time.Minute)
	waitReplicas(t, docker, stack+"_web", v2, 3, time.Minute)
	waitAll(t, portSwarm, "v2", time.Minute)
	took := time.Since(start)
	st := l.finish()
	t.Logf("rolling update to v2: %s from deploy to every replica on v2; %d requests under %d clients, %d failed, versions %v",
		took.Round(100*time.Millisecond), st.ok+len(st.failed), loadClients, len(st.failed), st.versions)
	if len(st.failed) > 0 {
		t.Errorf("%d of %d requests failed during the rolling update: %v", len(st.failed), st.ok+len(st.failed), firstFew(st.failed))
	}
	if st.versions["v1"] == 0 || st.versions["v2"] == 0 {
		t.Errorf("the load saw versions %v; want both v1 and v2 (it ran through the update)", st.versions)
	}

	// An image whose health check fails: Swarm rolls the update back.
	editApp(t, app, `VERSION = "v2"`, `VERSION = "v3"`)
	editApp(t, app, `return Response("ok\n", mimetype="text/plain")`, `return Response("broken\n", status=500, mimetype="text/plain")`)
	l = startLoad(portSwarm)
	start = time.Now()
	if v3 := exportAndDeploy(); v3 == v2 {
		t.Fatalf("the broken app got the image of v2 (%s)", v2)
	}
	waitUpdate(t, docker, stack+"_web", "rollback_completed", 4*time.Minute)
	waitReplicas(t, docker, stack+"_web", v2, 3, time.Minute)
	waitAll(t, portSwarm, "v2", time.Minute)
	took = time.Since(start)
	st = l.finish()
	t.Logf("update to an unhealthy image rolled back in %s; %d requests, %d failed, versions %v",
		took.Round(100*time.Millisecond), st.ok+len(st.failed), len(st.failed), st.versions)
	if len(st.failed) > 0 {
		t.Errorf("%d of %d requests failed while the unhealthy update rolled back: %v", len(st.failed), st.ok+len(st.failed), firstFew(st.failed))
	}

	if left := teardown(); len(left) > 0 {
		t.Errorf("docker stack rm and docker swarm leave --force left %v", left)
	}
}

// stackImage reads the web service's image from the stack file: the tag
// export --build chose from the app's content.
func stackImage(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Services["web"].Image
}

// waitReplicas waits until the service runs n tasks of image, all running
// (a task with a health check runs once it is healthy), and no other.
func waitReplicas(t *testing.T, docker, service, image string, n int, timeout time.Duration) {
	t.Helper()
	var last string
	waitEvery(t, timeout, 500*time.Millisecond, func() string {
		return fmt.Sprintf("%d running tasks of %s in %s; docker service ps says:\n%s", n, image, service, last)
	}, func() bool {
		last, _ = try("", docker, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", service)
		lines := strings.Split(strings.TrimSpace(last), "\n")
		return len(lines) == n && !slices.ContainsFunc(lines, func(l string) bool {
			return !strings.HasPrefix(l, image+" Running")
		})
	})
}

// waitUpdate waits for the service's update to reach state, failing at once
// when it reaches another final one (a rollback where a success was due, a
// pause).
func waitUpdate(t *testing.T, docker, service, state string, timeout time.Duration) {
	t.Helper()
	var last string
	waitEvery(t, timeout, 500*time.Millisecond, func() string {
		return fmt.Sprintf("the update of %s to be %s (it is %q)", service, state, last)
	}, func() bool {
		out, _ := try("", docker, "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.Message}}{{end}}", service)
		last = strings.TrimSpace(out)
		s, _, _ := strings.Cut(last, " ")
		switch {
		case s == state:
			return true
		case s == "paused" || s == "rollback_paused" || s == "completed" && state != "completed" || s == "rollback_completed" && state != "rollback_completed":
			ps, _ := try("", docker, "service", "ps", "--no-trunc", "--format", "{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}", service)
			t.Fatalf("the update of %s ended %q, want %s; its tasks:\n%s", service, last, state, ps)
		}
		return false
	})
}

// waitAll waits until 30 requests in a row answer version, spread over the
// three replicas: the balancer has let go of every old one.
func waitAll(t *testing.T, port int, version string, timeout time.Duration) {
	t.Helper()
	hc := client()
	var counts, versions map[string]int
	var failed []string
	waitEvery(t, timeout, 100*time.Millisecond, func() string {
		return fmt.Sprintf("30 requests all on %s (last: %v %v, failed %v)", version, versions, counts, firstFew(failed))
	}, func() bool {
		counts, versions, failed = tally(hc, port, 30)
		return versions[version] == 30 && len(counts) == 3
	})
}

// load is the bounded load that runs through an update: loadClients clients,
// each with its own keep-alive connection, one request every loadEvery.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu sync.Mutex
	loadStats
}

type loadStats struct {
	ok       int
	failed   []string
	versions map[string]int
}

func startLoad(port int) *load {
	l := &load{stop: make(chan struct{}), loadStats: loadStats{versions: map[string]int{}}}
	deadline := time.Now().Add(loadLimit)
	for range loadClients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			hc := client()
			tick := time.NewTicker(loadEvery)
			defer tick.Stop()
			for range loadPerClient {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				if time.Now().After(deadline) {
					return
				}
				a, err := ask(hc, port)
				l.mu.Lock()
				if err != nil {
					l.failed = append(l.failed, time.Now().Format("15:04:05.000")+" "+err.Error())
				} else {
					l.ok++
					l.versions[a.Version]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// finish stops the clients and returns what they saw.
func (l *load) finish() loadStats {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loadStats
}

func firstFew(s []string) []string { return s[:min(len(s), 5)] }

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
