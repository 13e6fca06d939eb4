package control_test

import (
	"context"
	"fmt"
	"os"

	"github.com/devcluster/devcluster/control"
)

// How `devcluster up` serves its cluster: listen first (it refuses when a
// cluster already runs in the project), serve until the cluster has stopped.
func ExampleServer_Serve() {
	var cluster control.Cluster // cmd/devcluster's adapter over supervisor and proxy
	ln, err := control.Listen(control.SocketPath("/home/u/app"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err) // a cluster is already running in /home/u/app (pid 4121, ...)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(cluster).Serve(ctx, ln) }()
	// ... run the supervisor and proxy until Ctrl-C or Cluster.Down, reap ...
	stop() // last: `devcluster down` waits for the socket to go away
	<-done
}

// How `devcluster ps` talks to it.
func ExampleDial() {
	dir, err := control.FindProject(".", "") // "" or the -f FILE flag
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err) // no devcluster project in /home/u/app or its parents (...)
		return
	}
	c, err := control.Dial(control.SocketPath(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err) // no devcluster is running in /home/u/app (...); start one with "devcluster up"
		return
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err) // the cluster's own message, e.g. unknown instance "web.9" (...)
		return
	}
	control.WriteTable(os.Stdout, st)
}
