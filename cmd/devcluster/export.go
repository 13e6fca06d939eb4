package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/export"
)

// exportFlags are export's own flags, beside the manifest flags up has.
type exportFlags struct {
	out, app, image, workdir, stats string
	balancer, ingress               string
	baseImage, balancerImage        string
	dockerfile, build               bool
}

// formatFlags names the flags that apply to some formats only, so that a
// flag given to another format is an error rather than silently ignored.
func formatFlags() map[string][]string {
	docker := []string{"compose", "swarm"}
	return map[string][]string{"balancer": docker, "dockerfile": docker, "base-image": docker, "balancer-image": docker,
		"build": {"swarm"}, "ingress": {"kubernetes"}, "workdir": {"systemd"}, "stats": {"haproxy"}}
}

func newExportCmd(e *env) *cobra.Command {
	var f manifestFlags
	var o exportFlags
	cmd := &cobra.Command{
		Use:   "export FORMAT",
		Short: "Write the cluster as real infrastructure: haproxy, nginx, compose, swarm, kubernetes or systemd",
		Long: `export writes the cluster of the manifest (the same formation, ports, strategy,
stickiness, checks and retry rule as devcluster up) as the configuration of real
infrastructure. Without -o a single file goes to stdout. A setting the format cannot
express is named in a warning on stderr; the file keeps the nearest equivalent.

Formats:
` + formatHelp(),
		Example:   exportExamples(),
		ValidArgs: export.FormatNames(),
		Args: func(cmd *cobra.Command, args []string) error {
			names := strings.Join(export.FormatNames(), ", ")
			switch {
			case len(args) == 0:
				return fmt.Errorf("export needs a FORMAT: %s", names)
			case len(args) > 1:
				return fmt.Errorf("export takes one FORMAT, got %d: %s", len(args), strings.Join(args, " "))
			case !slices.Contains(export.FormatNames(), args[0]):
				return fmt.Errorf("unknown format %q: use %s", args[0], names)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(e, cmd, args[0], &f, &o)
		},
	}
	addManifestFlags(cmd, &f)
	fl := cmd.Flags()
	fl.StringVarP(&o.out, "output", "o", "", "directory to write the files to (default: stdout, for a format that writes one file)")
	fl.StringVar(&o.app, "app", "", "name prefix of units, services and objects (default: the manifest's directory name)")
	fl.StringVar(&o.image, "image", "", "compose and kubernetes: the app's image (default: APP:latest)")
	fl.StringVar(&o.balancer, "balancer", "haproxy", "compose, swarm: the balancer service, haproxy or nginx")
	fl.BoolVar(&o.dockerfile, "dockerfile", false, "compose, swarm: also write a Dockerfile serving the app (a Flask or Django development server's with gunicorn, an ASGI app with its uvicorn, hypercorn, daphne or gunicorn -k uvicorn), when it has none")
	fl.StringVar(&o.baseImage, "base-image", "", "compose, swarm: the Dockerfile's FROM (default "+export.DefaultBaseImage+"); what it can import already is not installed")
	fl.StringVar(&o.balancerImage, "balancer-image", "", "compose, swarm: the balancer's image (default "+export.DefaultHAProxyImage+" or "+export.DefaultNginxImage+")")
	fl.BoolVar(&o.build, "build", false, "swarm: build the app's image (implies --dockerfile), tag it by its content and name it in stack.yaml; needs -o")
	fl.StringVar(&o.ingress, "ingress", "", "kubernetes: also write an Ingress for this host")
	fl.StringVar(&o.workdir, "workdir", "", "systemd: the app's directory on the target machine (default: the manifest's)")
	fl.StringVar(&o.stats, "stats", "", "haproxy: address of the stats page (default 127.0.0.1:8404)")
	return cmd
}

func formatHelp() string {
	var b strings.Builder
	for _, f := range export.Formats() {
		fmt.Fprintf(&b, "  %-11s %s\n  %-11s %s\n", f.Name, f.Summary, "", f.Example)
	}
	return b.String()
}

func exportExamples() string {
	var lines []string
	for _, f := range export.Formats() {
		lines = append(lines, "  "+f.Example)
	}
	return strings.Join(lines, "\n")
}

func runExport(e *env, cmd *cobra.Command, format string, f *manifestFlags, o *exportFlags) error {
	for flag, only := range formatFlags() {
		if cmd.Flags().Changed(flag) && !slices.Contains(only, format) {
			return withHint(fmt.Errorf("--%s applies to %s only, not %s", flag, strings.Join(only, " and "), format), "devcluster export "+only[0]+" --"+flag+" ...")
		}
	}
	if o.build && o.out == "" {
		return withHint(errors.New("export swarm --build writes stack.yaml naming the image it builds: it needs -o DIR"), "devcluster export swarm --build -o deploy")
	}
	proj, err := loadProject(e, f)
	if err != nil {
		return err
	}
	m := proj.manifest
	outDir := e.cwd
	if o.out != "" {
		outDir = absFrom(e.cwd, o.out)
	}
	opts := export.Options{
		Manifest:      displayPath(e.cwd, f.file, m.Path),
		Invocation:    invocation(cmd, format),
		Formation:     proj.formation,
		BasePort:      proj.basePort,
		Listen:        proj.listen,
		Strategy:      proj.strategy,
		Env:           proj.env,
		EnvFiles:      envFilePaths(e.cwd, m.Dir, f.envFiles),
		App:           o.app,
		Image:         o.image,
		Balancer:      o.balancer,
		Dockerfile:    o.dockerfile || o.build,
		BaseImage:     o.baseImage,
		BalancerImage: o.balancerImage,
		Ingress:       o.ingress,
		StatsListen:   o.stats,
		OutDir:        outDir,
	}
	if o.workdir != "" {
		opts.WorkDir = absFrom(e.cwd, o.workdir)
	}
	if opts.TLSCert, opts.TLSKey, err = localLeaf(e, m); err != nil {
		return err
	}
	c, err := export.Build(m, opts)
	if err != nil {
		return err
	}
	res, err := export.Render(c, format)
	if err != nil {
		return err
	}
	if o.build {
		b := &imageBuild{repo: repoOf(cmp.Or(o.image, c.App+":latest")), contextDir: m.Dir, skip: outDir}
		if b.dockerfile, err = buildDockerfile(res, m.Dir); err != nil {
			return err
		}
		if opts.Image, err = b.build(cmd.Context(), e); err != nil {
			return err
		}
		if c, err = export.Build(m, opts); err != nil {
			return err
		}
		if res, err = export.Render(c, format); err != nil {
			return err
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	if o.out == "" {
		if len(res.Files) > 1 {
			return withHint(fmt.Errorf("%s writes %d files (%s); stdout holds one", format, len(res.Files), fileNames(res.Files)),
				"devcluster export "+format+" -o DIR")
		}
		_, err := e.stdout.Write(res.Files[0].Data)
		return err
	}
	return writeExport(e, o.out, outDir, res.Files)
}

// writeExport writes the files into dir. A file that is there already is
// replaced only if an earlier export wrote it (it starts with the generated
// header): exporting again is the way to update, but a hand-written
// haproxy.cfg or Dockerfile is never overwritten.
func writeExport(e *env, shown, dir string, files []export.File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		old, err := os.ReadFile(path)
		switch {
		case err == nil && !generated(old):
			return withHint(fmt.Errorf("export: %s exists and was not written by devcluster export; not overwriting it", path),
				"move it away, or choose another directory with -o")
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("export: %w", err)
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		mode := fs.FileMode(cmp.Or(f.Mode, 0o644))
		if err := os.WriteFile(path, f.Data, mode); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Chmod(path, mode); err != nil { // a file written before keeps its mode otherwise
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", filepath.Join(shown, f.Name))
	}
	return nil
}

// buildDockerfile is the Dockerfile --build uses: the one the export wrote,
// else the app's own.
func buildDockerfile(res *export.Result, dir string) ([]byte, error) {
	for _, f := range res.Files {
		if f.Name == "Dockerfile" {
			return f.Data, nil
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("export --build: %s has no Dockerfile, and devcluster writes one only for a Flask or Django development server or an ASGI server (uvicorn, hypercorn, daphne, gunicorn -k uvicorn.workers.UvicornWorker)", dir),
			"add a Dockerfile to the app, or build the image yourself and pass --image")
	}
	return data, err
}

func generated(data []byte) bool {
	return bytes.HasPrefix(data, []byte("# Generated by devcluster from "))
}

// invocation is the command line as the header shows it: the format and the
// flags that were set, in a fixed order, so that the same command gives the
// same file.
func invocation(cmd *cobra.Command, format string) string {
	parts := []string{"devcluster", "export", format}
	for _, name := range []string{"file", "env", "formation", "port", "listen", "strategy",
		"output", "app", "image", "balancer", "balancer-image", "base-image", "dockerfile", "build", "ingress", "workdir", "stats"} {
		fl := cmd.Flags().Lookup(name)
		if fl == nil || !fl.Changed {
			continue
		}
		flag := "--" + fl.Name
		if fl.Shorthand != "" {
			flag = "-" + fl.Shorthand
		}
		switch fl.Value.Type() {
		case "bool":
			parts = append(parts, flag)
		case "stringArray":
			vals, _ := cmd.Flags().GetStringArray(name)
			for _, v := range vals {
				parts = append(parts, flag, shellWord(v))
			}
		default:
			parts = append(parts, flag, shellWord(fl.Value.String()))
		}
	}
	return strings.Join(parts, " ")
}

// shellWord quotes v for the header when a shell would split or expand it.
func shellWord(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"$`\\|&;<>()*?[]#~%!{}") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// displayPath is the manifest as the user named it, or relative to the
// current directory when it was found there.
func displayPath(cwd, given, path string) string {
	if given != "" {
		return given
	}
	if rel, err := filepath.Rel(cwd, path); err == nil {
		return rel
	}
	return path
}

// envFilePaths lists the env files up reads that exist: .env next to the
// manifest, then every -e file, as absolute paths.
func envFilePaths(cwd, manifestDir string, extra []string) []string {
	var out []string
	dotenv := filepath.Join(manifestDir, ".env")
	if fi, err := os.Stat(dotenv); err == nil && fi.Mode().IsRegular() {
		out = append(out, dotenv)
	}
	for _, p := range extra {
		out = append(out, absFrom(cwd, p))
	}
	return out
}

func absFrom(cwd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}

func fileNames(files []export.File) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
