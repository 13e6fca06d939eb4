package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/chaos"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestChaosSoak is the short form of issue 10's chaos soak (package internal/chaos; the
// long form is bench/chaos.sh): 20 s of 50 keep-alive clients through a real
// three-instance Flask cluster under `devcluster up`, while instances are SIGKILLed,
// paused, reloaded by a save, scaled between 2 and 5 and restarted. No transport error
// and no non-2xx response may happen, except the 502s of requests in flight on a killed
// instance and the 5xx of requests held by a paused one (counted apart, and bounded);
// every action must happen, and SIGINT must stop the cluster leaving no process and no
// port behind. It runs alone (not in parallel): it keeps both cores busy.
func TestChaosSoak(t *testing.T) { chaosSoak(t, false) }

// TestChaosSoakWithStandbys is the same soak with warm standbys (up --standby):
// every kill, reload, scale and restart then also races a standby's start, warm
// up, takeover or drop.
func TestChaosSoakWithStandbys(t *testing.T) { chaosSoak(t, true) }

// TestChaosSoakWithUnreadStdout is the same soak with devcluster's stdout a
// pipe nobody reads until the stop, and up --access-log writing a line per
// request to it (issue 21 item 1): the same target, and lines must have been
// dropped (or the pipe was never full and the variant proved nothing).
func TestChaosSoakWithUnreadStdout(t *testing.T) { chaosSoakWith(t, false, true) }

func chaosSoak(t *testing.T, standby bool) { chaosSoakWith(t, standby, false) }

func chaosSoakWith(t *testing.T, standby, unreadStdout bool) {
	if testing.Short() {
		t.Skip("the chaos soak runs a Flask cluster under load for 20 s")
	}
	if err := chaos.FlaskMissing("python3"); err != nil {
		tstest.MissingTool(t, "Flask for the chaos soak ("+err.Error()+")", "sudo apt-get install -y python3-flask")
	}
	// TestMain's testscript.Main put this test binary on PATH as "devcluster".
	bin, err := exec.LookPath("devcluster")
	if err != nil {
		t.Fatalf("devcluster is not on PATH (testscript.Main should have put it there): %v", err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := chaos.Run(ctx, chaos.Config{
		Devcluster: bin,
		AppSource:  filepath.Join(repo, "examples", "flask", "app.py"),
		WorkDir:    t.TempDir(),
		Clients:    50,
		Duration:   20 * time.Second,
		Standby:    standby,
		Seed:       tstest.Seed(t), // printed; DEVCLUSTER_TEST_SEED replays a run
		Log:        testLog{t},

		UnreadStdout: unreadStdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Write(&out)
	t.Log("\n" + out.String())
	for _, f := range rep.Failures() {
		t.Error(f)
	}
}

// testLog writes the soak's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
