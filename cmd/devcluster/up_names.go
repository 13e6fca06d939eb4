package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/devcluster/devcluster/procfile"
)

// onlyFormation is the formation of `devcluster up NAME…` (foreman start web,
// honcho start web): the named processes at their -m or manifest counts, every
// other process at 0. Every name must be one of the manifest's, and -m may
// only count named processes: "up web -m worker=2" would start no worker, so
// it is refused rather than half honoured.
func onlyFormation(m *procfile.Manifest, formation map[string]int, names []string) (map[string]int, error) {
	if len(names) == 0 {
		return formation, nil
	}
	var errs []error
	for _, n := range names {
		if m.Process(n) == nil {
			errs = append(errs, m.UnknownProcess(n))
		}
	}
	var extra []string
	for name := range formation {
		if !slices.Contains(names, name) && m.Process(name) != nil {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		errs = append(errs, fmt.Errorf("-m %s=%d counts a process that \"up %s\" does not start; name it too (up %s %s) or leave it out of -m",
			name, formation[name], strings.Join(names, " "), strings.Join(names, " "), name))
	}
	if len(errs) > 0 {
		// A usage error (status 2), as a wrong argument is: one right use below.
		return nil, usage(errors.Join(errs...), "devcluster up "+m.Processes[0].Name+"   (the manifest's processes: "+strings.Join(processNames(m), ", ")+")")
	}
	out := make(map[string]int, len(m.Processes))
	for _, p := range m.Processes {
		if !slices.Contains(names, p.Name) {
			out[p.Name] = 0
		} else if n, ok := formation[p.Name]; ok {
			out[p.Name] = n
		}
	}
	return out, nil
}

func processNames(m *procfile.Manifest) []string {
	names := make([]string, len(m.Processes))
	for i, p := range m.Processes {
		names[i] = p.Name
	}
	return names
}
