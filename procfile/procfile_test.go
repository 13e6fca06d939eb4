package procfile

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// procs summarises a manifest's processes as "name=command@line".
func procs(m *Manifest) []string {
	var out []string
	for _, p := range m.Processes {
		out = append(out, p.Name+"="+p.Command+"@"+strconv.Itoa(p.Line))
	}
	return out
}

// errLines returns the lines of every ParseError in err, and fails when err
// is not an ErrorList.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got error %v (%T), want an ErrorList", err, err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Error())
	}
	return out
}

func TestParseProcfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"simple", "web: python3 app.py\nworker: python3 worker.py\n", []string{"web=python3 app.py@1", "worker=python3 worker.py@2"}},
		{"no space after colon", "web:python3 app.py", []string{"web=python3 app.py@1"}},
		{"comments and blank lines", "# the web\n\n   \nweb: a\n  # indented comment\nworker: b\n", []string{"web=a@4", "worker=b@6"}},
		{"CRLF", "web: a --x\r\nworker: b\r\n", []string{"web=a --x@1", "worker=b@2"}},
		{"no final newline", "web: a", []string{"web=a@1"}},
		{"colon in command", "web: python3 -c 'print(\"a:b\")'", []string{"web=python3 -c 'print(\"a:b\")'@1"}},
		{"hash in command kept", "web: echo a#b # c", []string{"web=echo a#b # c@1"}},
		{"names with dash underscore digits", "web-1: a\nw_2: b\nX: c", []string{"web-1=a@1", "w_2=b@2", "X=c@3"}},
		{"surrounding spaces", "  web :   a b   \n", []string{"web=a b@1"}},
		{"byte order mark", "\ufeffweb: a\n", []string{"web=a@1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseProcfile("Procfile", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := procs(m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if m.Format != "procfile" {
				t.Errorf("got format %q, want procfile", m.Format)
			}
			for _, p := range m.Processes {
				if p.Restart != "always" || p.StopSignal != "TERM" {
					t.Errorf("%s: got restart %q signal %q, want always TERM", p.Name, p.Restart, p.StopSignal)
				}
			}
		})
	}
}

func TestParseProcfileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"missing command", "web: a\n\nweb2:\n", []string{`Procfile:3: missing command after "web2:"`}},
		{"missing command, spaces", "web:   \r\n", []string{`Procfile:1: missing command after "web:"`}},
		{"no colon", "web: a\npython3 app.py\n", []string{`Procfile:2: expected "name: command", got "python3 app.py"; prefix the command with a process name, like "web: python3 app.py"`}},
		{"bad name", "my web: a\n", []string{`Procfile:1: invalid process name "my web": use only letters, digits, "_" and "-"`}},
		{"bad name dot", "web.1: a\n", []string{`Procfile:1: invalid process name "web.1": use only letters, digits, "_" and "-"`}},
		{"missing name", ": a\n", []string{`Procfile:1: missing process name before ":"; write "web: a"`}},
		{"duplicate", "web: a\nworker: b\nweb: c\n", []string{`Procfile:3: duplicate process "web" (first defined on line 1); rename or remove one of them`}},
		{"empty", "", []string{`Procfile: no processes defined; add a line like "web: python3 app.py"`}},
		{"only comments", "# nothing\n\n", []string{`Procfile: no processes defined; add a line like "web: python3 app.py"`}},
		{"all errors at once", "oops\nweb:\nweb: a\nweb: b\nb@d: c\n", []string{
			`Procfile:1: expected "name: command", got "oops"; prefix the command with a process name, like "web: oops"`,
			`Procfile:2: missing command after "web:"`,
			`Procfile:4: duplicate process "web" (first defined on line 3); rename or remove one of them`,
			`Procfile:5: invalid process name "b@d": use only letters, digits, "_" and "-"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseProcfile("Procfile", strings.NewReader(tt.input))
			if m != nil {
				t.Errorf("got manifest %v, want nil", procs(m))
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "Procfile", Line: 3, Msg: "m"}, "Procfile:3: m"},
		{&ParseError{File: "Procfile", Msg: "m"}, "Procfile: m"},
		{&ParseError{Line: 2, Msg: "m"}, "line 2: m"},
		{&ParseError{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	list := ErrorList{tests[0].err, tests[1].err}
	if got, want := list.Error(), "Procfile:3: m\nProcfile: m"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var pe *ParseError
	if !errors.As(error(list), &pe) || pe.Line != 3 {
		t.Errorf("errors.As(ErrorList, *ParseError): got %v, want the first error", pe)
	}
}

func TestLongBadLineIsShortenedOnRuneBoundary(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("é", 100) // 200 bytes, no colon
	_, err := ParseProcfile("Procfile", strings.NewReader(line+"\n"))
	msg := errLines(t, err)[0]
	if !utf8.ValidString(msg) || !strings.Contains(msg, "…") || len(msg) > 250 {
		t.Errorf("got %q, want a short valid UTF-8 message with an ellipsis", msg)
	}
}
