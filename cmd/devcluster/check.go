package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

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
and whether the inotify limit covers the directories to watch. Exit status 1 when
anything is wrong.`,
		Example: `  devcluster check
  devcluster check -f devcluster.yaml -m web=4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := runCheck(e, &f, e.stdout)
			if problems > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d problem(s) found", problems)}
			}
			return nil
		},
	}
	addManifestFlags(cmd, &f)
	return cmd
}

// runCheck prints one line per check and returns how many problems it found.
func runCheck(e *env, f *manifestFlags, w io.Writer) int {
	problems := 0
	ok := func(format string, args ...any) { fmt.Fprintf(w, "ok    "+format+"\n", args...) }
	fail := func(format string, args ...any) {
		problems++
		fmt.Fprintf(w, "FAIL  "+format+"\n", args...)
	}
	proj, err := loadProject(e, f)
	if err != nil {
		fail("manifest: %s", indentLines(err.Error()))
		return problems
	}
	m := proj.manifest
	ok("manifest %s: %d process(es), %d instance(s)", m.Path, len(m.Processes), len(proj.instances))

	if warns := procfile.ReloaderWarnings(m); len(warns) > 0 {
		for _, wmsg := range warns {
			fail("reloader: %s", wmsg)
		}
	} else {
		ok("no framework reloader left on")
	}

	specs, err := proj.specs(os.Environ())
	if err != nil {
		fail("%v", err)
		return problems
	}
	if err := supervisor.CheckCommands(specs); err != nil {
		fail("commands: %s", indentLines(err.Error()))
	} else {
		ok("every command is found")
	}

	busy := 0
	for _, s := range specs {
		if msg := portBusy(s.Port); msg != "" {
			busy++
			fail("port %d (%s): %s", s.Port, s.ID, msg)
		}
	}
	if _, port, err := net.SplitHostPort(proj.listen); err == nil {
		if p, _ := strconv.Atoi(port); p > 0 {
			if ln, err := net.Listen("tcp", proj.listen); err != nil {
				busy++
				fail("proxy %s: %s", proj.listen, listenError(proj.listen, err))
			} else {
				ln.Close()
			}
		}
	}
	if busy == 0 {
		ok("ports free: %s and proxy %s", portRange(specs), proj.listen)
	}

	checkInotify(proj, ok, fail)
	return problems
}

func portBusy(port int) string {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		ln.Close()
		return ""
	}
	if pid, cmdline, found := supervisor.PortHolder(port); found {
		return fmt.Sprintf("already in use — held by pid %d (%s)", pid, cmdline)
	}
	return "already in use"
}

func portRange(specs []supervisor.InstanceSpec) string {
	var parts []string
	for _, s := range specs {
		parts = append(parts, strconv.Itoa(s.Port))
	}
	return strings.Join(parts, ", ")
}

func checkInotify(proj *project, ok, fail func(string, ...any)) {
	dirs := 0
	counted := map[string]bool{}
	for _, proc := range proj.manifest.Processes {
		if counted[watchKey(proc)] {
			continue
		}
		counted[watchKey(proc)] = true
		n, err := watcher.CountDirs(watcher.Config{
			Root:      proj.manifest.Dir,
			Paths:     proc.Watch.Paths,
			Include:   proc.Watch.Include,
			Exclude:   proc.Watch.Exclude,
			Gitignore: true,
		})
		if err != nil {
			fail("watch %s: %v", proc.Name, err)
			return
		}
		if n > dirs {
			dirs = n
		}
	}
	data, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		ok("%d directories to watch (inotify limit unknown: %v)", dirs, err)
		return
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if dirs > limit {
		fail("%d directories to watch but fs.inotify.max_user_watches is %d: exclude big directories in watch.exclude, or raise it with: sudo sysctl fs.inotify.max_user_watches=524288", dirs, limit)
		return
	}
	ok("%d directories to watch, inotify limit %d", dirs, limit)
}

func indentLines(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ")
}
