// Command devcluster runs N copies of each process of a Procfile on consecutive ports,
// restarts and reloads them, and balances them behind one local HTTP proxy.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
