package procfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestColonlessLineSuggestsFirstWordAsName: "web python3 app.py" suggested
// "web: web python3 app.py".
func TestColonlessLineSuggestsFirstWordAsName(t *testing.T) {
	t.Parallel()
	tests := []struct{ input, want string }{
		{"web python3 app.py\n", `Procfile:1: expected "name: command", got "web python3 app.py"; did you mean "web: python3 app.py"?`},
		{"worker   celery -A proj worker\n", `Procfile:1: expected "name: command", got "worker   celery -A proj worker"; did you mean "worker: celery -A proj worker"?`},
		{"python3 app.py\n", `Procfile:1: expected "name: command", got "python3 app.py"; prefix the command with a process name, like "web: python3 app.py"`},
		{"gunicorn -b 0.0.0.0 app\n", `Procfile:1: expected "name: command", got "gunicorn -b 0.0.0.0 app"; prefix the command with a process name, like "web: gunicorn -b 0.0.0.0 app"`},
		{"web\n", `Procfile:1: expected "name: command", got "web"; prefix the command with a process name, like "web: web"`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			t.Parallel()
			_, err := ParseProcfile("Procfile", strings.NewReader(tt.input))
			checkOneError(t, err, tt.want)
		})
	}
}

// TestYAMLTabErrorOnItsLine: a tab in the indentation was reported on the
// line before it (or with no line at all on line 1).
func TestYAMLTabErrorOnItsLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ input, want string }{
		{"processes:\n  web:\n    command: a\n\tinstances: 2\n",
			"devcluster.yaml:4: invalid YAML: found a tab character that violates indentation"},
		{"processes:\n  web: a\n\n\n\tworker: b\n",
			"devcluster.yaml:5: invalid YAML: found a tab character that violates indentation"},
		{"\tprocesses:\n  web: a\n",
			"devcluster.yaml:1: invalid YAML: found character that cannot start any token"},
		{"processes:\n  web:\n\tcommand: a\n",
			"devcluster.yaml:3: invalid YAML: found character that cannot start any token"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			t.Parallel()
			_, err := ParseYAML("devcluster.yaml", strings.NewReader(tt.input))
			checkOneError(t, err, tt.want)
		})
	}
}

// TestEnvPortIsBasePort: foreman and honcho take PORT from .env or the
// environment as the base port when -p is not given; devcluster ignored it
// (.env PORT=9000 still ran on 5000).
func TestEnvPortIsBasePort(t *testing.T) {
	t.Parallel()
	env := func(t *testing.T, content string) []EnvVar {
		t.Helper()
		vars, err := ParseEnv(".env", strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return vars
	}
	tests := []struct {
		name    string
		flag    int
		dotenv  string
		environ []string
		want    BasePort
		wantErr string
	}{
		{"default", 0, "", []string{"HOME=/x"}, BasePort{5000, "default"}, ""},
		{".env", 0, "A=1\nPORT=6000\n", []string{"PORT=9000"}, BasePort{6000, ".env:2"}, ""},
		{"last .env assignment", 0, "PORT=6000\nPORT=6100\n", nil, BasePort{6100, ".env:2"}, ""},
		{"environment", 0, "A=1\n", []string{"PORT=9000"}, BasePort{9000, "environment PORT"}, ""},
		{"flag wins", 7000, "PORT=6000\n", []string{"PORT=9000"}, BasePort{7000, "--port"}, ""},
		{"empty is unset", 0, "PORT=\n", []string{"PORT="}, BasePort{5000, "default"}, ""},
		{"bad .env value", 0, "A=1\nPORT=abc\n", nil, BasePort{},
			`.env:2: PORT "abc" is not a port between 1 and 65535; devcluster takes PORT as the base port when --port is not given`},
		{"bad environment value", 0, "", []string{"PORT=70000"}, BasePort{},
			`environment variable PORT="70000" is not a port between 1 and 65535; devcluster takes it as the base port when --port is not given: unset it, or pass --port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ChooseBasePort(tt.flag, env(t, tt.dotenv), tt.environ)
			if tt.wantErr != "" {
				checkOneError(t, err, tt.wantErr)
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
	// The base reaches the plan: web on 6000, 6001.
	base, err := ChooseBasePort(0, env(t, "PORT=6000\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := mustParse(t, "web: a\n").Plan(nil, base.Port)
	if err != nil || len(plan) != 2 || plan[0].Port != 6000 || plan[1].Port != 6001 {
		t.Errorf("plan: got %+v, %v, want web.1 on 6000 and web.2 on 6001", plan, err)
	}
}

// TestEnvInvalidKeyIsSkippedWithWarning: devcluster refused to start on a
// .env line whose key is not a valid name, which foreman and honcho skip.
func TestEnvInvalidKeyIsSkippedWithWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	write(t, a, "A=1\nMY-VAR=2\nB=3\n")
	write(t, b, "1X=4\nC=5\n")
	vars, warnings, err := LoadEnv([]string{a, b}, false)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	var keys []string
	for _, v := range vars {
		keys = append(keys, v.Key+"="+v.Value)
	}
	if got, want := strings.Join(keys, " "), "A=1 B=3 C=5"; got != want {
		t.Errorf("vars: got %s, want %s", got, want)
	}
	want := []string{
		a + `:2: skipped: invalid variable name "MY-VAR" (use letters, digits and "_", not starting with a digit); foreman and honcho skip such lines too`,
		b + `:1: skipped: invalid variable name "1X" (use letters, digits and "_", not starting with a digit); foreman and honcho skip such lines too`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings: got\n%s\nwant\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	// Other problems are still errors, and LoadEnvFiles stays strict.
	write(t, b, "1X=4\nC='5\n")
	if _, _, err := LoadEnv([]string{a, b}, false); err == nil || err.Error() != b+`:2: C: unterminated single quote; close it on the same line (values spanning lines are not supported)` {
		t.Errorf("LoadEnv: got %v, want the unterminated quote of %s:2 alone", err, b)
	}
	if _, err := LoadEnvFiles([]string{a}, false); err == nil || !strings.Contains(err.Error(), `:2: invalid variable name "MY-VAR"`) {
		t.Errorf("LoadEnvFiles: got %v, want the invalid name refused", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
