package export

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// funcs are the template functions of the balancer configs: each target's
// quoting, its duration syntax, and path helpers.
var funcs = template.FuncMap{
	"hq":       haproxyQuote,
	"nq":       nginxQuote,
	"hdur":     haproxyDuration,
	"ndur":     nginxDuration,
	"slash":    withSlash,
	"add":      func(a, b int) int { return a + b },
	"lastAddr": nginxLastAddr,
}

// haproxyQuote escapes s as one HAProxy word: outside quotes a backslash makes
// the next character literal, which covers the space, "#" (a comment), both
// quotes and the backslash itself. "$" is left alone: HAProxy expands
// environment variables only inside double quotes, and outside them "\$"
// stays two characters (TestHAProxyHealthPathArrivesExactly caught that).
// Control characters have no place in the paths and names HAProxy reads: an error.
func haproxyQuote(s string) (string, error) {
	if err := noControl("HAProxy", s); err != nil {
		return "", err
	}
	if s == "" {
		return `""`, nil
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(" #'\"\\", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// nginxQuote writes s as one nginx word in double quotes, where only the
// double quote and the backslash need escaping. It is used only where nginx
// takes the word literally, with no variables (location paths, map keys);
// control characters are refused because they would end the directive.
func nginxQuote(s string) (string, error) {
	if err := noControl("nginx", s); err != nil {
		return "", err
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// systemdQuote writes s as one double-quoted word of a unit file: the C
// escapes systemd unquotes (\\ \" \n \t \r \xHH), "%%" for a literal "%"
// (specifiers) and, with dollar, "$$" for a literal "$" (ExecStart= expands
// $VAR; Environment= does not).
func systemdQuote(s string, dollar bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '%':
			b.WriteString("%%")
		case r == '$' && dollar:
			b.WriteString("$$")
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// dollarEscape doubles "$": compose interpolates $VAR and ${VAR} from the host
// when it reads the file, and Kubernetes expands $(VAR) in commands and env
// values; both reduce "$$" to "$". The shell in the container then sees the
// command as the manifest wrote it ($PORT included).
func dollarEscape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func noControl(target, s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q holds a control character, which a %s config cannot carry", s, target)
		}
	}
	return nil
}

// haproxyDuration writes d in HAProxy's units (ms unless whole seconds).
func haproxyDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(max(int64(d/time.Millisecond), 1), 10) + "ms"
}

// nginxDuration is the same syntax: nginx reads "ms" and "s" too.
func nginxDuration(d time.Duration) string { return haproxyDuration(d) }

// seconds rounds d up to whole seconds, at least 1 (Kubernetes probes,
// compose's healthcheck accepts any duration but reads best in seconds).
func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

func withSlash(p string) string {
	if strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func itoa(n int) string { return strconv.Itoa(n) }
