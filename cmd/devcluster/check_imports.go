package main

import (
	"context"
	"os"

	"github.com/devcluster/devcluster/supervisor"
)

// imports checks, for each Python process, that its interpreter finds the -m
// module or script it runs and the libraries the app imports at its top level
// (the standby's import scan, run by that interpreter): what would otherwise
// crash-loop at once with a ModuleNotFoundError. The interpreter is the one up
// runs: behind a pyenv shim, the real one (up puts it first on PATH).
func (c *checker) imports(proj *project) {
	specs, err := proj.specs(pyenvAdjusted(proj, os.Environ()))
	if err != nil {
		return // check has said so already
	}
	scanned, problems := 0, 0
	seen := make(map[string]bool)
	for _, sp := range specs {
		if seen[sp.Process] {
			continue
		}
		seen[sp.Process] = true
		if supervisor.StandbyProblem(sp) != "" {
			continue // not a Python interpreter or console script (or not one plain invocation)
		}
		missing, err := supervisor.MissingImports(context.Background(), sp)
		if err != nil {
			c.fail("imports: %v", err)
			problems++
			continue
		}
		scanned++
		for _, m := range missing {
			c.fail("imports: %s: %s", sp.ID, m.Error())
			problems++
		}
	}
	if scanned > 0 && problems == 0 {
		c.ok("every Python command's interpreter finds its module and the app's imports")
	}
}
