package procfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
)

// maxQuoted bounds how much of a bad line is echoed back in a message.
const maxQuoted = 60

// ParseProcfile parses a Procfile: one "name: command" per line (the space
// after the colon is optional), names made of letters, digits, "_" and "-",
// "#" comment lines and blank lines skipped, CRLF line ends tolerated.
// Unlike foreman, a line that does not parse is an error, never skipped:
// a silently missing process is worse than a refusal to start. Every problem
// of the file is reported at once, as an ErrorList.
func ParseProcfile(file string, r io.Reader) (*Manifest, error) {
	data, err := readBounded(file, r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	c := &errorCollector{file: file}
	m := &Manifest{Path: file, Format: "procfile"}
	first := map[string]int{} // process name → line of its definition
	for i, raw := range splitLines(data) {
		lineNo := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		name, command, ok := strings.Cut(line, ":")
		if !ok {
			c.addf(lineNo, "expected \"name: command\", got %s; %s", quoteShort(line), colonHint(line))
			continue
		}
		name = strings.TrimSpace(name)
		command = strings.TrimSpace(command)
		bad := false
		switch {
		case name == "":
			c.addf(lineNo, "missing process name before \":\"; write \"web: %s\"", shown(command))
			bad = true
		case !validName(name):
			c.addf(lineNo, "invalid process name %s: use only letters, digits, \"_\" and \"-\"", quoteShort(name))
			bad = true
		}
		if command == "" {
			c.addf(lineNo, "missing command after %s", quoteShort(name+":"))
			bad = true
		}
		if !bad {
			// The command ends the line, so its columns count from the line's end.
			start := len(strings.TrimRight(raw, " \t")) - len(command)
			if msg := commandProblem(name, command, func(off int) string {
				return fmt.Sprintf(" at column %d", start+off+1)
			}); msg != "" {
				c.addf(lineNo, "%s", msg)
				bad = true
			}
		}
		if bad {
			continue
		}
		if at, dup := first[name]; dup {
			c.addf(lineNo, "duplicate process %q (first defined on line %d); rename or remove one of them", name, at)
			continue
		}
		first[name] = lineNo
		m.Processes = append(m.Processes, &Process{
			Name:       name,
			Command:    command,
			Line:       lineNo,
			Restart:    defaults.Restart,
			StopSignal: defaults.StopSignal,
		})
	}
	if len(m.Processes) == 0 && len(c.errs) == 0 {
		c.addf(0, "no processes defined; add a line like \"web: python3 app.py\"")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// splitLines splits on "\n", dropping one "\r" before it and a leading
// UTF-8 byte order mark, as editors on Windows write them.
func splitLines(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(data) == 0 {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// colonHint suggests the line a colon-less Procfile line was meant to be:
// "web python3 app.py" is "web: python3 app.py" (the first word is the name,
// as foreman would need it), while "python3 app.py" lacks a name altogether,
// since its first word is a program.
func colonHint(line string) string {
	words := strings.Fields(line)
	if len(words) >= 2 && validName(words[0]) && !isProgram(words[0]) {
		rest := strings.TrimSpace(line[len(words[0]):])
		return fmt.Sprintf("did you mean \"%s: %s\"?", words[0], shown(rest))
	}
	return fmt.Sprintf("prefix the command with a process name, like \"web: %s\"", shown(line))
}

// isProgram reports whether word is the name of a program a Procfile line
// commonly starts with, rather than a process name.
func isProgram(word string) bool {
	if strings.HasPrefix(word, "python") {
		return true
	}
	switch word {
	case "flask", "gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve", "django-admin", "celery", "rq",
		"node", "npm", "npx", "yarn", "pnpm", "deno", "bun", "ruby", "bundle", "rails", "rake", "php", "java",
		"go", "cargo", "sh", "bash", "exec", "env", "make", "redis-server", "nginx":
		return true
	}
	return false
}

// validName reports whether s is a process name foreman accepts: [A-Za-z0-9_-]+.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// shorten cuts s to a length fit for a message.
func shorten(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// quoteShort quotes s for a message, shortened.
func quoteShort(s string) string { return fmt.Sprintf("%q", shorten(s)) }
