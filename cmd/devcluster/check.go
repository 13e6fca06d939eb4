package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/cluster"
	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/supervisor"
	"github.com/devcluster/devcluster/watcher"
)

func newCheckCmd(e *env) *cobra.Command {
	var f manifestFlags
	cmd := &cobra.Command{
		Use:     "check",
		Aliases: []string{"doctor"},
		Short:   "Validate the manifest and the machine without starting anything",
		Long: `check reads the manifest and reports every problem it can find before "up" would:
manifest errors, framework reloaders left on, ports already taken, missing commands,
Python modules and imports the instances' interpreter cannot find (with what to
install), and whether the inotify limit covers the directories to watch. Exit status 1 when
anything is wrong.`,
		Example: `  devcluster check
  devcluster check -f devcluster.yaml -m web=4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := runCheck(e, &f, e.stdout)
			if problems > 0 {
				return &exitError{code: 1, err: errors.New(problemsFound(problems))}
			}
			return nil
		},
	}
	addManifestFlags(cmd, &f)
	addStandbyFlag(cmd, &f)
	addGitignoreFlag(cmd, &f)
	return cmd
}

// problemsFound is check's last line: "1 problem found", "3 problems found".
func problemsFound(n int) string {
	if n == 1 {
		return "1 problem found"
	}
	return fmt.Sprintf("%d problems found", n)
}

// checker prints one line per check and counts the problems.
type checker struct {
	w        io.Writer
	problems int
}

func (c *checker) ok(format string, args ...any) { fmt.Fprintf(c.w, "ok    "+format+"\n", args...) }

func (c *checker) fail(format string, args ...any) {
	c.problems++
	fmt.Fprintf(c.w, "FAIL  "+format+"\n", args...)
}

// runCheck prints one line per check and returns how many problems it found.
func runCheck(e *env, f *manifestFlags, w io.Writer) int {
	c := &checker{w: w}
	proj, err := loadProject(e, f)
	if err != nil {
		c.manifest(err)
		return c.problems
	}
	m := proj.manifest
	c.ok("manifest %s: %d process(es), %d instance(s)", m.Path, len(m.Processes), len(proj.instances))
	for _, w := range proj.warnings {
		fmt.Fprintf(c.w, "warn  %s\n", w)
	}
	if allPinned(proj) {
		c.ok("every process pins its port (port: in %s), so no base port is used", m.Path)
	} else {
		c.ok("%s", baseLine(proj))
	}

	if warns := procfile.ReloaderWarnings(m); len(warns) > 0 {
		for _, wmsg := range warns {
			c.fail("reloader: %s", wmsg)
		}
	} else {
		c.ok("no framework reloader left on")
	}

	specs, err := proj.specs(os.Environ())
	if err != nil {
		c.fail("%v", err)
		return c.problems
	}
	if err := supervisor.CheckCommands(specs); err != nil {
		c.fail("commands: %s", indentLines(err.Error()))
	} else {
		c.ok("every command is found")
		c.imports(proj)
	}
	// What up builds before it starts anything, built here too (both start nothing),
	// so that a setting only they refuse (a --strategy flag) fails check as well.
	if _, err := newProxy(proj, "", io.Discard, nil); err != nil {
		c.fail("%v", err) // "proxy: …"
	}
	if _, err := supervisor.New(supervisor.Config{Specs: specs}); err != nil {
		c.fail("instances: %s", indentLines(err.Error()))
	}
	c.standbys(proj, specs)
	c.ports(proj, specs)
	c.inotify(proj, !f.noGitignore)
	return c.problems
}

// standbys says, for each process with reload.standby, whether its instances
// will have warm standbys, and if not why (a warning: they start cold, as without).
func (c *checker) standbys(proj *project, specs []supervisor.InstanceSpec) {
	first := make(map[string]supervisor.InstanceSpec)
	for _, sp := range specs {
		if _, ok := first[sp.Process]; !ok {
			first[sp.Process] = sp
		}
	}
	var upEnv []string // the environment up gives instances, computed once if needed
	for _, p := range proj.manifest.Processes {
		sp, ok := first[p.Name]
		if !p.Reload.Standby || !ok {
			continue
		}
		if supervisor.StandbyProblem(sp) != "" {
			// up puts a pyenv shim's real interpreter first on PATH, and a
			// console script (flask, gunicorn) is found there, not behind the shim.
			if upEnv == nil {
				upEnv = pyenvAdjusted(proj, os.Environ())
			}
			sp.Env = upEnv
		}
		if why := supervisor.StandbyProblem(sp); why != "" {
			fmt.Fprintf(c.w, "warn  %s:%d: %s: reload.standby: no warm standby: %s; its starts are cold\n",
				proj.manifest.Path, p.Reload.StandbyLine, p.Name, why)
			continue
		}
		c.ok("%s: a warm standby per instance (reload.standby): the next start skips Python's start and the libraries' import", p.Name)
	}
}

// manifest reports a manifest that does not load: each problem of an ErrorList on
// its own line and counted, shown as up shows them (the first 20, then "and N more
// problems"); anything else as one problem.
func (c *checker) manifest(err error) {
	var list procfile.ErrorList
	var u *usageError
	switch {
	case errors.As(err, &u):
		c.fail("%s", indentLines(err.Error())) // a flag, not the manifest
		return
	case !errors.As(err, &list) || len(list) == 0:
		c.fail("manifest: %s", indentLines(err.Error()))
		return
	}
	shown := 0
	for i, line := range strings.Split(list.Error(), "\n") {
		if i < len(list) && line == list[i].Error() {
			c.fail("manifest: %s", line)
			shown++
			continue
		}
		fmt.Fprintf(c.w, "      %s\n", line)
	}
	c.problems += len(list) - shown
}

// ports checks every instance port with the supervisor's own probe, and the
// proxy's address: it must be free and must not be one of the instance ports.
func (c *checker) ports(proj *project, specs []supervisor.InstanceSpec) {
	busy := 0
	for _, s := range specs {
		if err := supervisor.PortBusy(s.Port); err != nil {
			busy++
			c.fail("port %d (%s): %v", s.Port, s.ID, strings.TrimPrefix(err.Error(), "address "))
		}
	}
	if err := proj.listenClashError(); err != nil {
		busy++
		c.fail("%v", err)
	} else if _, port, err := net.SplitHostPort(proj.listen); err == nil && port != "0" {
		if ln, err := net.Listen("tcp", proj.listen); err != nil {
			busy++
			c.fail("proxy %s: %s", proj.listen, listenError(proj.listen, err))
		} else {
			ln.Close()
		}
	}
	if busy == 0 {
		c.ok("ports free: %s and proxy %s", portRange(specs), proj.listen)
	}
}

func portRange(specs []supervisor.InstanceSpec) string {
	var parts []string
	for _, s := range specs {
		parts = append(parts, strconv.Itoa(s.Port))
	}
	return strings.Join(parts, ", ")
}

// inotify compares the directories up would watch with the per-user inotify watch
// limit. The limit is per user and every watcher takes its own watches, so the
// counts of the watchers (one per distinct watch setting, as up groups them) add
// up; a process with no instance in the formation has no watcher.
func (c *checker) inotify(proj *project, gitignore bool) {
	dirs := 0
	for _, procs := range cluster.WatchGroups(proj.manifest, proj.formation) {
		proc := procs[0]
		n, err := watcher.CountDirs(cluster.WatchConfig(proj.manifest, proc, gitignore))
		if err != nil {
			c.fail("watch %s: %v", proc.Name, err)
			return
		}
		dirs += n
	}
	limit, err := watcher.MaxUserWatches()
	if err != nil {
		c.ok("%d directories to watch (inotify limit unknown: %v)", dirs, err)
		return
	}
	if dirs > limit {
		c.fail("%d directories to watch but fs.inotify.max_user_watches is %d: exclude big directories in watch.exclude, or raise it with: sudo sysctl fs.inotify.max_user_watches=524288", dirs, limit)
		return
	}
	c.ok("%d directories to watch, inotify limit %d", dirs, limit)
}

func indentLines(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ")
}
