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
	var force bool
	var python string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented devcluster.yaml for the Flask or Django app in this directory",
		Example: `  cd myapp && devcluster init && devcluster up
  devcluster init --force      # overwrite an existing devcluster.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := scaffold.Detect(e.cwd)
			if err != nil {
				return err // scaffold says where it looked and what to do instead
			}
			if python == "" && p.Python == "" {
				python = pickPython(cmd.Context(), p.Kind)
			}
			content := scaffold.Render(p, scaffold.RenderOptions{Python: python})
			path, err := scaffold.Write(e.cwd, content, force)
			if err != nil {
				return err // it says to use --force
			}
			fmt.Fprintf(e.stdout, "wrote %s for a %s app (%s)\n", path, p.Kind, strings.Join(p.Found, "; "))
			fmt.Fprintf(e.stdout, "command: %s\nstart it with: devcluster up\n", scaffold.Command(p, scaffold.RenderOptions{Python: python}))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing devcluster.yaml")
	cmd.Flags().StringVar(&python, "python", "", "python interpreter for the command (default: the first of python3, /usr/bin/python3 that can import the framework)")
	return cmd
}

// pickPython returns the first interpreter that can import the detected framework, so
// that a Django project on a machine whose pyenv python lacks Django still works.
func pickPython(ctx context.Context, kind string) string {
	module := map[string]string{"flask": "flask", "django": "django", "gunicorn": "gunicorn"}[kind]
	if module == "" {
		return "python3"
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := exec.CommandContext(cctx, py, "-c", "import "+module).Run()
		cancel()
		if err == nil {
			return py
		}
	}
	return "python3"
}
