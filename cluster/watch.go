package cluster

import (
	"strings"

	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/watcher"
)

// WatchConfig is the watcher of the group whose first process is proc (see
// WatchGroups), as up runs it and check counts its directories: one
// definition, so that check cannot count other directories than up watches.
func WatchConfig(m *procfile.Manifest, proc *procfile.Process, gitignore bool) watcher.Config {
	return watcher.Config{
		Root:      m.Dir,
		Paths:     proc.Watch.Paths,
		Include:   proc.Watch.Include,
		Exclude:   proc.Watch.Exclude,
		Gitignore: gitignore,
	}
}

// WatchGroups lists the processes that get a watcher, in manifest order, grouped
// by their watch settings: processes with equal settings share one watcher (and
// one directory count in check). A process with no instance in the formation has
// nothing to reload and gets none.
func WatchGroups(m *procfile.Manifest, formation map[string]int) [][]*procfile.Process {
	byKey := map[string]int{}
	var groups [][]*procfile.Process
	for _, proc := range m.Processes {
		if n, ok := formation[proc.Name]; ok && n == 0 {
			continue
		}
		key := strings.Join(proc.Watch.Paths, "\x00") + "\x01" + strings.Join(proc.Watch.Include, "\x00") + "\x01" + strings.Join(proc.Watch.Exclude, "\x00")
		if i, ok := byKey[key]; ok {
			groups[i] = append(groups[i], proc)
			continue
		}
		byKey[key] = len(groups)
		groups = append(groups, []*procfile.Process{proc})
	}
	return groups
}
