package main

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/internal/defaults"
)

func TestRegisterBalancerFlagCompletion(t *testing.T) {
	t.Parallel()
	cmd := newUpCmd(&env{getenv: func(string) string { return "" }, cwd: t.TempDir()})
	registerBalancerFlagCompletion(cmd)
	for flag, want := range map[string][]string{"strategy": defaults.Strategies(), "sticky": defaults.StickyModes()} {
		t.Run(flag, func(t *testing.T) {
			complete, ok := cmd.GetFlagCompletionFunc(flag)
			if !ok {
				t.Fatalf("no completion registered for --%s", flag)
			}
			got, directive := complete(cmd, nil, "")
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if directive != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("got directive %d, want %d (no file names)", directive, cobra.ShellCompDirectiveNoFileComp)
			}
		})
	}
}
