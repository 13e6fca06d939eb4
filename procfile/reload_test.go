package procfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseYAMLReload(t *testing.T) {
	t.Parallel()
	pct := func(n int) IntOrPercent { return IntOrPercent{Value: n, Percent: true, Set: true} }
	num := func(n int) IntOrPercent { return IntOrPercent{Value: n, Set: true} }
	tests := []struct {
		name, reload string
		want         Reload
	}{
		{"not written", "", Reload{}},
		{"null", "reload:\n", Reload{Line: 3}},
		{"percentage", "reload: {max_unavailable: 50%}\n", Reload{MaxUnavailable: pct(50), Line: 3}},
		{"quoted percentage", "reload: {max_unavailable: '25%'}\n", Reload{MaxUnavailable: pct(25), Line: 3}},
		{"number and surge", "reload:\n      max_unavailable: 2\n      max_surge: 1\n", Reload{MaxUnavailable: num(2), MaxSurge: num(1), Line: 3}},
		{"surge only", "reload: {max_unavailable: 0, max_surge: 100%}\n", Reload{MaxUnavailable: num(0), MaxSurge: pct(100), Line: 3}},
		{"surge percentage alone", "reload: {max_surge: 0%}\n", Reload{MaxSurge: pct(0), Line: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := "processes:\n  web:\n    " + tt.reload + "    command: a\n"
			m, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := m.Processes[0].Reload; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseYAMLReloadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, reload string
		want         []string
	}{
		{"not a mapping", "reload: fast", []string{
			`devcluster.yaml:4: web.reload must be a mapping like {max_unavailable: 50%, max_surge: 0}, got "fast"`}},
		{"kubernetes spelling", "reload: {maxUnavailable: 1, maxSurge: 1}", []string{
			`devcluster.yaml:4: unknown key "maxUnavailable" in web.reload (did you mean "max_unavailable"?)`,
			`devcluster.yaml:4: unknown key "maxSurge" in web.reload (did you mean "max_surge"?)`}},
		{"unknown key listed", "reload: {strategy: wave}", []string{
			`devcluster.yaml:4: unknown key "strategy" in web.reload (known: max_unavailable, max_surge, standby)`}},
		{"wrong types", "reload:\n      max_unavailable: half\n      max_surge: 0.5", []string{
			`devcluster.yaml:5: web.reload.max_unavailable must be a number of instances like 1 or a percentage like 50%, got "half"`,
			`devcluster.yaml:6: web.reload.max_surge must be a number of instances like 1 or a percentage like 50%, got "0.5"`}},
		{"list", "reload: {max_unavailable: [1]}", []string{
			`devcluster.yaml:4: web.reload.max_unavailable must be a number of instances like 1 or a percentage like 50%, got a list`}},
		{"out of range", "reload:\n      max_unavailable: -1\n      max_surge: 150%", []string{
			`devcluster.yaml:5: web.reload.max_unavailable must be 0 or more, got -1`,
			`devcluster.yaml:6: web.reload.max_surge must be a percentage from 0% to 100%, got "150%"`}},
		{"bad percentages", "reload:\n      max_unavailable: -5%\n      max_surge: '%'", []string{
			`devcluster.yaml:5: web.reload.max_unavailable must be a percentage from 0% to 100%, got "-5%"`,
			`devcluster.yaml:6: web.reload.max_surge must be a percentage from 0% to 100%, got "%"`}},
		{"too many", "reload: {max_surge: 5000}", []string{
			`devcluster.yaml:4: web.reload.max_surge must be at most 1000, got 5000`}},
		{"both zero", "reload:\n      max_unavailable: 0%\n      max_surge: 0", []string{
			`devcluster.yaml:5: web.reload: max_unavailable and max_surge cannot both be 0, or no instance could be replaced; use max_unavailable: 1 (the default) or more, or a max_surge`}},
		{"repeated", "reload:\n      max_surge: 1\n      max_surge: 2", []string{
			`devcluster.yaml:6: key "max_surge" repeated in web.reload (first on line 5); remove one`}},
		{"misspelt key", "relaod: {max_unavailable: 2}", []string{
			`devcluster.yaml:4: unknown key "relaod" in process "web" (did you mean "reload"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			input := "processes:\n  web:\n    command: a\n    " + tt.reload + "\n"
			m, err := ParseYAML("devcluster.yaml", strings.NewReader(input))
			if m != nil {
				t.Errorf("got manifest %v, want nil", procs(m))
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReloadResolve(t *testing.T) {
	t.Parallel()
	pct := func(n int) IntOrPercent { return IntOrPercent{Value: n, Percent: true, Set: true} }
	num := func(n int) IntOrPercent { return IntOrPercent{Value: n, Set: true} }
	tests := []struct {
		name                       string
		r                          Reload
		instances                  int
		wantUnavailable, wantSurge int
	}{
		{"default is one at a time", Reload{}, 3, 1, 0},
		{"default with one instance", Reload{}, 1, 1, 0},
		{"no instances", Reload{MaxUnavailable: num(2)}, 0, 0, 0},
		{"50% of 8", Reload{MaxUnavailable: pct(50)}, 8, 4, 0},
		{"50% of 3 rounds down", Reload{MaxUnavailable: pct(50)}, 3, 1, 0},
		{"10% of 3 rounds down to 0, raised to 1", Reload{MaxUnavailable: pct(10)}, 3, 1, 0},
		{"100% keeps one serving", Reload{MaxUnavailable: pct(100)}, 8, 7, 0},
		{"number above instances keeps one serving", Reload{MaxUnavailable: num(30)}, 8, 7, 0},
		{"one instance cannot keep one serving", Reload{MaxUnavailable: pct(100)}, 1, 1, 0},
		{"surge rounds up", Reload{MaxSurge: pct(25)}, 3, 1, 1},
		{"surge at most instances", Reload{MaxSurge: num(10)}, 3, 1, 3},
		{"surge only", Reload{MaxUnavailable: num(0), MaxSurge: num(1)}, 3, 0, 1},
		{"surge only, one instance", Reload{MaxUnavailable: num(0), MaxSurge: pct(50)}, 1, 0, 1},
		{"written 0 without surge still moves", Reload{MaxUnavailable: num(0)}, 3, 1, 0},
		{"hand-built extremes do not overflow", Reload{MaxUnavailable: pct(1 << 62), MaxSurge: num(-5)}, 4, 3, 0},
	}
	for _, tt := range tests {
		u, s := tt.r.Resolve(tt.instances)
		if u != tt.wantUnavailable || s != tt.wantSurge {
			t.Errorf("%s: Resolve(%d) of %v: got %d unavailable, %d surge; want %d, %d",
				tt.name, tt.instances, tt.r, u, s, tt.wantUnavailable, tt.wantSurge)
		}
	}
}

func TestReloadString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    Reload
		want string
	}{
		{Reload{}, "max_unavailable 1, max_surge 0"},
		{Reload{MaxUnavailable: IntOrPercent{Value: 50, Percent: true, Set: true}, MaxSurge: IntOrPercent{Set: true}}, "max_unavailable 50%, max_surge 0"},
		{Reload{MaxSurge: IntOrPercent{Value: 2, Set: true}}, "max_unavailable 1, max_surge 2"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
