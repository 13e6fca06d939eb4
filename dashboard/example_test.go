package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/devcluster/devcluster/dashboard"
)

// oneInstance is the smallest Cluster: cmd/devcluster's adapter fills the
// Snapshot from the supervisor's and the proxy's state instead.
type oneInstance struct{}

func (oneInstance) Snapshot(context.Context) (dashboard.Snapshot, error) {
	return dashboard.Snapshot{
		Proxy:     "127.0.0.1:8080",
		Processes: []dashboard.Process{{Name: "web", Instances: 1, Balanced: true}},
		Instances: []dashboard.Instance{{ID: "web.1", Process: "web", State: "ready", Balancer: "up", Port: 5000, Weight: 1}},
	}, nil
}

func (oneInstance) Act(_ context.Context, a dashboard.Action) error {
	return fmt.Errorf("%s: not supported by this example", a.Kind)
}

func (oneInstance) Logs(context.Context, string, int) ([]dashboard.LogLine, error) { return nil, nil }

// Example shows how cmd/devcluster wires the dashboard: one Recorder fed by
// the proxy's per-request hook, and the Dashboard answering the paths it Owns
// on the proxy's listener.
func Example() {
	rec := dashboard.NewRecorder(dashboard.RecorderConfig{})
	d, err := dashboard.New(dashboard.Config{
		Cluster:  oneInstance{},
		Recorder: rec,
		Addr:     "127.0.0.1:8080", // the proxy's bound address
		Token:    "00112233445566778899aabbccddeeff",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close() // before the listener's Shutdown: ends the live feeds

	// In the proxy's per-request hook, once the response has ended:
	rec.Record(dashboard.Request{Instance: "web.1", Method: "GET", Path: "/", Status: 200, Duration: 12 * time.Millisecond})

	// In front of the balancer:
	_ = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Owns(r.URL.Path) {
			d.ServeHTTP(w, r) // never forwarded to the app
			return
		}
		// ... balance the request
	})
	fmt.Println(d.URL())
	fmt.Println(rec.Traffic("web.1").Total)
	// Output:
	// http://127.0.0.1:8080/_devcluster/#token=00112233445566778899aabbccddeeff
	// 1
}
