package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/scaffold"
)

func newInitCmd(e *env) *cobra.Command {
	var force, asgi bool
	var python string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented devcluster.yaml for the Flask, Django, FastAPI or Starlette app in this directory",
		Example: `  cd myapp && devcluster init && devcluster up
  devcluster init --force      # overwrite an existing devcluster.yaml
  devcluster init --asgi       # a Django project: serve its asgi.py with uvicorn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := scaffold.Detect(e.cwd)
			if err != nil {
				return err // scaffold says where it looked and what to do instead
			}
			opts := scaffold.RenderOptions{Python: python, ASGI: asgi}
			if err := scaffold.Validate(p, opts); err != nil {
				return err
			}
			if python == "" && p.Python == "" {
				var ok bool
				opts.Python, opts.PythonNote, ok = pickPython(cmd.Context(), pythonCandidates, scaffold.Modules(p, opts))
				if !ok {
					fmt.Fprintf(e.stderr, "devcluster init: warning: %s\n", opts.PythonNote)
				}
			}
			content := scaffold.Render(p, opts)
			path, err := scaffold.Write(e.cwd, content, force)
			if err != nil {
				return err // it says to use --force
			}
			fmt.Fprintf(e.stdout, "wrote %s for a %s app (%s)\n", path, p.Kind, strings.Join(p.Found, "; "))
			fmt.Fprintf(e.stdout, "command: %s\n", scaffold.Command(p, opts))
			if opts.PythonNote != "" && strings.HasPrefix(scaffold.Command(p, opts), opts.Python+" ") {
				fmt.Fprintf(e.stdout, "interpreter: %s\n", opts.PythonNote)
			}
			if p.Kind == scaffold.KindDjango && !asgi && p.ASGIModule != "" && p.ASGIServer != "" {
				fmt.Fprintf(e.stdout, "%s and %s are here: \"devcluster init --asgi --force\" serves the project with it instead of runserver\n",
					p.ASGIModule, p.ASGIServer)
			}
			fmt.Fprintln(e.stdout, "start it with: devcluster up")
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing devcluster.yaml")
	cmd.Flags().BoolVar(&asgi, "asgi", false, "serve a Django project through its asgi.py with an ASGI server (uvicorn) instead of runserver")
	cmd.Flags().StringVar(&python, "python", "", "python interpreter for the command (default: the first of python3, /usr/bin/python3 that can import what the command runs)")
	return cmd
}

// pythonCandidates are the interpreters pickPython tries, in order: the one on
// PATH (a virtualenv's or pyenv's), then the system's, for which Debian
// packages Django, FastAPI, uvicorn and the rest.
var pythonCandidates = []string{"python3", "/usr/bin/python3"}

// pickPython returns the first of candidates that can import every module, so that
// a FastAPI project on a machine whose pyenv python has only Flask still works, and
// a note that says which one it is and why, for the manifest; ok is false when none
// can (the note then says what to install).
func pickPython(ctx context.Context, candidates, modules []string) (python, note string, ok bool) {
	if len(modules) == 0 {
		return "python3", "", true
	}
	list := strings.Join(modules, ", ")
	var cannot []string
	for _, py := range candidates {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := exec.CommandContext(cctx, py, "-c", "import "+list).Run()
		cancel()
		if err == nil {
			note = py + " imports " + list
			if len(cannot) > 0 {
				note += "; " + strings.Join(cannot, " and ") + " cannot"
			}
			return py, note, true
		}
		cannot = append(cannot, py+map[bool]string{true: " (on PATH)"}[!strings.Contains(py, "/")])
	}
	return "python3", fmt.Sprintf("no interpreter here imports %s (tried %s): install them (pip install %s), or name one with --python",
		list, strings.Join(candidates, ", "), strings.Join(modules, " ")), false
}
