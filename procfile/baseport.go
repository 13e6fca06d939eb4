package procfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/devcluster/devcluster/internal/defaults"
)

// BasePort is the base port of a run (process k gets Port + 100*k) and
// where it came from, for check and the start table to say: "--port",
// ".env:3" (the file and line of the PORT assignment, as given),
// "environment PORT", or "default".
type BasePort struct {
	Port   int
	Source string
}

// ChooseBasePort picks the base port as foreman and honcho do: the --port
// flag (0 when not given), else the last PORT of the env files (vars as
// LoadEnv returns them), else PORT in environ (the inherited environment,
// "KEY=VALUE" strings, passed in because procfile reads no environment of
// its own), else 5000. A process's own "port:" in devcluster.yaml pins that
// process whatever the base. An empty PORT counts as unset; any other value
// that is not a port is an error, located when it comes from an env file.
func ChooseBasePort(flag int, vars []EnvVar, environ []string) (BasePort, error) {
	if flag != 0 {
		return BasePort{Port: flag, Source: "--port"}, nil
	}
	for i := len(vars) - 1; i >= 0; i-- {
		v := vars[i]
		if v.Key != "PORT" || v.Value == "" {
			continue
		}
		n, ok := parsePort(v.Value)
		if !ok {
			return BasePort{}, ErrorList{{File: v.File, Line: v.Line,
				Msg: fmt.Sprintf("PORT %s is not a port between 1 and 65535; devcluster takes PORT as the base port when --port is not given", quoteShort(v.Value))}}
		}
		return BasePort{Port: n, Source: fmt.Sprintf("%s:%d", v.File, v.Line)}, nil
	}
	for i := len(environ) - 1; i >= 0; i-- {
		val, ok := strings.CutPrefix(environ[i], "PORT=")
		if !ok || val == "" {
			continue
		}
		n, ok := parsePort(val)
		if !ok {
			return BasePort{}, fmt.Errorf("environment variable PORT=%s is not a port between 1 and 65535; devcluster takes it as the base port when --port is not given: unset it, or pass --port",
				quoteShort(val))
		}
		return BasePort{Port: n, Source: "environment PORT"}, nil
	}
	return BasePort{Port: defaults.BasePort, Source: "default"}, nil
}

func parsePort(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil && n >= 1 && n <= 65535
}
