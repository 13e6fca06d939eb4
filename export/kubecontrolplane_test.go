package export

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// kubeControlPlane is a real etcd, kube-apiserver and kube-controller-manager on
// loopback, started for one test by scripts/kube-control-plane.sh, and the kubectl
// of the same version. There is no kubelet and no scheduler: the controllers make
// ReplicaSets and Pods, and the Pods stay Pending.
type kubeControlPlane struct {
	dir, kubeconfig, kubectlPath string
}

// kubeControlPlaneScript is the one place that knows the control plane's flags and
// stop order; the tests only call it.
const kubeControlPlaneScript = "../scripts/kube-control-plane.sh"

// startKubeControlPlane starts a control plane in a temporary directory and stops it
// when the test ends, failed or not: the script's stop (controller manager, API
// server, then etcd), then a check that no process of the directory is left, which
// are killed by PID if they are.
func startKubeControlPlane(t *testing.T) *kubeControlPlane {
	t.Helper()
	tstest.NeedTool(t, "etcd", "apt-get install -y etcd-server")
	tstest.NeedTool(t, "openssl", "apt-get install -y openssl")
	tstest.NeedTool(t, "go", "Go 1.26 from https://go.dev/dl/ (it builds the control plane)")
	script, err := filepath.Abs(kubeControlPlaneScript)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "path").Output()
	if err != nil {
		tstest.MissingTool(t, "a kube-apiserver, kube-controller-manager and kubectl build ("+exitText(err)+")",
			"scripts/kube-control-plane.sh build (about 8 minutes cold on 2 cores, then cached; .ci/run runs it before the tests)")
	}
	cp := &kubeControlPlane{dir: t.TempDir()}
	cp.kubectlPath = filepath.Join(strings.TrimSpace(string(out)), "kubectl")
	t.Cleanup(func() { cp.stop(t, script) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "start", cp.dir)
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("kube-control-plane.sh start: %v\n%s", err, stderr.String())
	}
	t.Logf("%s", strings.TrimSpace(stderr.String()))
	cp.kubeconfig = lastLine(string(out))
	return cp
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// stop runs the script's stop and fails the test if any process whose command line
// names the control plane's directory outlives it; those are then killed by PID.
func (cp *kubeControlPlane) stop(t *testing.T, script string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, script, "stop", cp.dir).CombinedOutput(); err != nil {
		t.Errorf("kube-control-plane.sh stop: %v\n%s", err, out)
	}
	t.Logf("control plane stopped in %.1f s", time.Since(start).Seconds())
	left := processesNaming(cp.dir)
	if len(left) == 0 {
		return
	}
	t.Errorf("processes of the control plane outlived its stop: %v", left)
	for _, pid := range left {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if !tstest.Poll(10*time.Second, func() bool { return len(processesNaming(cp.dir)) == 0 }) {
		t.Errorf("processes still running after SIGKILL: %v", processesNaming(cp.dir))
	}
}

// processesNaming lists the live (not zombie) processes with s in their command line:
// every process of a control plane names its directory in a flag.
func processesNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// kubectl runs the control plane's kubectl with stdin and returns its stdout; an
// error carries its stderr.
func (cp *kubeControlPlane) kubectl(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cp.kubectlPath, append([]string{"--kubeconfig", cp.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// mustKubectl is kubectl that fails the test on an error.
func (cp *kubeControlPlane) mustKubectl(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, err := cp.kubectl(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
