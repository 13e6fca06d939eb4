package procfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesNonRegularFiles: "-f /dev/zero" grew to 1.1 GB and died out
// of memory, and a named pipe as the manifest hung devcluster in open.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := syscall.Mkfifo("Procfile", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(".env", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("sub.yaml", 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		load func() error
		want string
	}{
		{"named pipe", func() error { _, err := Load("Procfile"); return err },
			"read manifest: Procfile is a named pipe, not a regular file; name the file itself"},
		{"directory", func() error { _, err := Load("sub.yaml"); return err },
			"read manifest: sub.yaml is a directory, not a regular file; name the file itself"},
		{"dev null", func() error { _, err := Load("/dev/null"); return err },
			"read manifest: /dev/null is a character device, not a regular file; name the file itself"},
		{"dev zero", func() error { _, err := Load("/dev/zero"); return err },
			"read manifest: /dev/zero is a character device, not a regular file; name the file itself"},
		{"env named pipe", func() error { _, err := LoadEnvFiles([]string{".env"}, true); return err },
			"read env file: .env is a named pipe, not a regular file; name the file itself"},
		{"env dev zero", func() error { _, err := LoadEnvFiles([]string{"/dev/zero"}, false); return err },
			"read env file: /dev/zero is a character device, not a regular file; name the file itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tt.load() }()
			select {
			case err := <-done:
				if err == nil || err.Error() != tt.want {
					t.Errorf("got %v, want %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still reading after 10s, want a refusal at once")
			}
		})
	}
}

// TestLoadRefusesFileOver1MiB: what devcluster reads is bounded, whether
// from a file or from the reader a Parse function is given.
func TestLoadRefusesFileOver1MiB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := "# " + strings.Repeat("x", 1021) + "\n" // 1 KiB
	big := "web: a\n" + strings.Repeat(line, 1024)
	path := filepath.Join(dir, "Procfile")
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := "read manifest: " + path + " is over 1 MiB, more than a manifest or env file holds; check that it is the right file"
	if err == nil || err.Error() != want {
		t.Errorf("Load: got %v, want %q", err, want)
	}
	_, err = ParseEnv(".env", strings.NewReader(strings.Repeat("# c\n", 300000)))
	want = "read .env: .env is over 1 MiB, more than a manifest or env file holds; check that it is the right file"
	if err == nil || err.Error() != want {
		t.Errorf("ParseEnv: got %v, want %q", err, want)
	}
	// Exactly 1 MiB is still read.
	exact := big[:1<<20]
	exact = exact[:strings.LastIndexByte(exact, '\n')+1]
	exact += strings.Repeat("#", 1<<20-len(exact)-1) + "\n"
	if _, err := ParseProcfile("Procfile", strings.NewReader(exact)); err != nil {
		t.Errorf("1 MiB Procfile: got %v, want none", err)
	}
}

// TestCommandOverArgLimit: a command or a variable longer than Linux's
// MAX_ARG_STRLEN passed check and failed only at exec with "argument list
// too long", naming neither the process nor the variable.
func TestCommandOverArgLimit(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("a", 131072-128)
	long := ok + "a"
	tests := []struct {
		name, file, input, want string
	}{
		{"procfile command at the limit", "Procfile", "web: " + ok + "\n", ""},
		{"procfile command", "Procfile", "web: a\nworker: " + long + "\n",
			`Procfile:2: command of "worker" is 130945 bytes, over the limit of 130944 (Linux's MAX_ARG_STRLEN, 131072 bytes for the one argument of sh -c, less devcluster's wrapper); move it into a script and run the script`},
		{"yaml command", "devcluster.yaml", "processes:\n  web:\n    command: " + long + "\n",
			`devcluster.yaml:3: command of "web" is 130945 bytes, over the limit of 130944 (Linux's MAX_ARG_STRLEN, 131072 bytes for the one argument of sh -c, less devcluster's wrapper); move it into a script and run the script`},
		{"yaml env value", "devcluster.yaml", "processes:\n  web:\n    command: a\n    env:\n      BIG: " + strings.Repeat("v", 131071) + "\n",
			`devcluster.yaml:5: web.env: BIG is 131071 bytes, over the 131072-byte limit Linux sets on one variable (MAX_ARG_STRLEN, counting "BIG="); keep the value in a file and read it from there`},
		{"env value", ".env", "A=1\nBIG=" + strings.Repeat("v", 200000) + "\n",
			`.env:2: BIG is 200000 bytes, over the 131072-byte limit Linux sets on one variable (MAX_ARG_STRLEN, counting "BIG="); keep the value in a file and read it from there`},
		{"env value at the limit", ".env", "BIG=" + strings.Repeat("v", 131072-5) + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseAny(tt.file, tt.input)
			checkOneError(t, err, tt.want)
		})
	}
}

// TestCommandWithNULByte: a NUL byte in a command or value failed at exec
// with "invalid argument".
func TestCommandWithNULByte(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, input, want string
	}{
		{"procfile", "Procfile", "web:  python3\x00app.py\n",
			`Procfile:1: command of "web" holds a NUL byte at column 14, which no program can receive; remove it`},
		{"yaml escape", "devcluster.yaml", "processes:\n  web:\n    command: \"py\\0x\"\n",
			`devcluster.yaml:3: command of "web" holds a NUL byte at character 3 of the command, which no program can receive; remove it`},
		{"yaml env", "devcluster.yaml", "processes:\n  web:\n    command: a\n    env: {A: \"x\\0\"}\n",
			`devcluster.yaml:4: web.env: A holds a NUL byte, which no environment variable can; remove it`},
		{"env", ".env", "A=x\x00y\n", `.env:1: A holds a NUL byte, which no environment variable can; remove it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOneError(t, parseAny(tt.file, tt.input), tt.want)
		})
	}
}

// TestUnterminatedQuoteInCommand: sh refuses a command with an open quote on
// every start, and the supervisor restarted it forever.
func TestUnterminatedQuoteInCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, input, want string
	}{
		{"single", "Procfile", "web: a\nworker:  python3 -c 'print(1)\n",
			`Procfile:2: command of "worker" has an unterminated single quote (') opened at column 21, before "'print(1)"; close it, or write a literal quote as \'`},
		{"double", "Procfile", "web: echo \"hi there\n",
			`Procfile:1: command of "web" has an unterminated double quote (") opened at column 11, before "\"hi there"; close it, or write a literal quote as \"`},
		{"escaped double inside double", "Procfile", "web: echo \"a\\\"\n",
			`Procfile:1: command of "web" has an unterminated double quote (") opened at column 11, before "\"a\\\""; close it, or write a literal quote as \"`},
		{"yaml", "devcluster.yaml", "processes:\n  web: echo it's\n",
			`devcluster.yaml:2: command of "web" has an unterminated single quote (') opened at character 8 of the command, before "'s"; close it, or write a literal quote as \'`},
		{"balanced", "Procfile", "web: echo 'a\"b' \"it's\" it\\'s \"q\\\"\"\n", ""},
		{"comment", "Procfile", "web: python3 app.py # don't\n", ""},
		{"hash inside a word", "Procfile", "web: echo a#'b\n",
			`Procfile:1: command of "web" has an unterminated single quote (') opened at column 13, before "'b"; close it, or write a literal quote as \'`},
		{"comment after an operator", "Procfile", "web: a;# it's\n", ""},
		{"yaml multi-line comment", "devcluster.yaml", "processes:\n  web:\n    command: |\n      a # it's\n      b 'c'\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkOneError(t, parseAny(tt.file, tt.input), tt.want)
		})
	}
}

// TestErrorListShowsFirst20: a wrong -f (a log, a binary) printed one error
// per line of it.
func TestErrorListShowsFirst20(t *testing.T) {
	t.Parallel()
	_, err := ParseProcfile("Procfile", strings.NewReader(strings.Repeat("bad line\n", 25)))
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 {
		t.Fatalf("got %d lines, want 21:\n%v", len(lines), err)
	}
	if want := `Procfile:20: expected "name: command", got "bad line"; did you mean "bad: line"?`; lines[19] != want {
		t.Errorf("line 20: got %q, want %q", lines[19], want)
	}
	if want := "and 5 more problems"; lines[20] != want {
		t.Errorf("last line: got %q, want %q", lines[20], want)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 25 {
		t.Errorf("got %d problems in the list, want all 25", len(list))
	}
}

// TestHintEscapesControlBytes: a Procfile line holding ESC ]0;TITLE BEL was
// written back verbatim in the "like web: …" hint, so printing the error set
// the terminal's title (any escape sequence could be injected that way).
func TestHintEscapesControlBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, want string
	}{
		{"no colon", "\x1b]0;TITLE\x07\n",
			`Procfile:1: expected "name: command", got "\x1b]0;TITLE\a"; prefix the command with a process name, like "web: \x1b]0;TITLE\x07"`},
		{"no name", ": \x1b[2J\u202ex\xff\n",
			`Procfile:1: missing process name before ":"; write "web: \x1b[2J\u202ex\xff"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseProcfile("Procfile", strings.NewReader(tt.input))
			checkOneError(t, err, tt.want)
		})
	}
	e := &ParseError{File: "a\x1bb", Line: 2, Msg: "x\x9by\u0085\nz"}
	if got, want := e.Error(), "a\\x1bb:2: x\\x9by\\u0085\nz"; got != want {
		t.Errorf("ParseError: got %q, want %q", got, want)
	}
}

// parseAny parses input as the kind of file its name says.
func parseAny(file, input string) error {
	var err error
	switch {
	case strings.HasSuffix(file, ".yaml"):
		_, err = ParseYAML(file, strings.NewReader(input))
	case file == ".env":
		_, err = ParseEnv(file, strings.NewReader(input))
	default:
		_, err = ParseProcfile(file, strings.NewReader(input))
	}
	return err
}

// checkOneError fails unless err is want ("" for none) and holds no control
// byte but newlines.
func checkOneError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("got error %v, want none", shorten(err.Error()))
		}
		return
	}
	if err == nil || err.Error() != want {
		got := fmt.Sprint(err)
		t.Errorf("got error %q, want %q", got, want)
	}
}
