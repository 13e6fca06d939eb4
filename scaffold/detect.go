// Package scaffold is "devcluster init": it looks at a Python web project,
// works out how to run it (Flask, Django, FastAPI or Starlette; gunicorn,
// uvicorn, hypercorn or daphne), and writes a commented
// devcluster.yaml for it. It reads files only; it runs nothing.
package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Kinds of project Detect recognises.
const (
	KindFlask     = "flask"
	KindDjango    = "django"
	KindFastAPI   = "fastapi"
	KindStarlette = "starlette"
)

// ASGI servers a project can list among its dependencies; the first one found
// serves an ASGI app, ServerUvicorn when none is listed.
const (
	ServerUvicorn   = "uvicorn"
	ServerHypercorn = "hypercorn"
	ServerDaphne    = "daphne"
)

// IsASGI reports whether kind is an ASGI framework's (FastAPI, Starlette),
// which only an ASGI server can serve.
func IsASGI(kind string) bool { return kind == KindFastAPI || kind == KindStarlette }

// Project is what Detect found in a directory.
type Project struct {
	Dir  string
	Kind string // KindFlask, KindDjango, KindFastAPI or KindStarlette

	// Flask, FastAPI, Starlette: AppModule is the module holding the app
	// ("app", "mypkg.wsgi", "app.main") and AppObject the variable or
	// factory call in it ("app", "create_app()"), "" when Flask finds it by
	// itself.
	// Django: AppModule is the project package ("mysite"), AppObject "".
	AppModule string
	AppObject string

	// Django only: the settings, WSGI and ASGI modules ("mysite.settings",
	// "mysite.wsgi", "mysite.asgi"); ASGIModule is "" without an asgi.py.
	SettingsModule string
	WSGIModule     string
	ASGIModule     string

	// ASGIServer is the ASGI server the project lists among its dependencies
	// (ServerUvicorn, ServerHypercorn, ServerDaphne), "" when it lists none.
	ASGIServer string

	// Gunicorn is true when gunicorn is a dependency of the project
	// (requirements*.txt, pyproject.toml or Pipfile); it is then used as
	// server. GunicornCommand is the virtualenv's gunicorn when there is
	// one (".venv/bin/gunicorn"), else "gunicorn".
	Gunicorn        bool
	GunicornCommand string

	// Python is the interpreter of a virtualenv inside the project
	// (".venv/bin/python3"), relative to Dir; "" when there is none.
	Python string

	// HealthPath is "/health" (or "/healthz", or Django's "/health/") when
	// such a route appears in the source, else "/".
	HealthPath string

	// Found lists what was detected and where, for the user to check.
	Found []string
}

var (
	flaskAppEnvRE  = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?FLASK_APP[ \t]*=[ \t]*["']?([^"'\s#]+)`)
	flaskAssignRE  = regexp.MustCompile(`(?m)^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:flask\.)?Flask\(`)
	flaskFactoryRE = regexp.MustCompile(`(?m)^def[ \t]+(create_app|make_app)[ \t]*\(`)
	asgiAssignRE   = regexp.MustCompile(`(?m)^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:fastapi\.|starlette\.applications\.|applications\.)?(FastAPI|Starlette)\(`)
	asgiFactoryRE  = regexp.MustCompile(`(?m)^def[ \t]+(create_app|make_app|get_app|get_application)[ \t]*\(`)
	asgiKindRE     = regexp.MustCompile(`\b(FastAPI|Starlette)\(`)
	noDocsRE       = regexp.MustCompile(`\bdocs_url[ \t]*=`)
	settingsRE     = regexp.MustCompile(`DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']`)
	gunicornRE     = dependencyRE("gunicorn")
	healthRouteRE  = regexp.MustCompile(`["'](/healthz?/?)["']`)
	asgiServerRE   = map[string]*regexp.Regexp{
		ServerUvicorn:   dependencyRE("uvicorn"),
		ServerHypercorn: dependencyRE("hypercorn"),
		ServerDaphne:    dependencyRE("daphne"),
	}
	djangoHealthRE = regexp.MustCompile(`\bpath\(\s*["'](healthz?)(/?)["']`)
)

// dependencyRE matches name as a requirement: at the start of a line of
// requirements.txt or Pipfile, or quoted in pyproject.toml ("uvicorn[standard]>=0.20").
func dependencyRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?im)(^[ \t]*|["'])` + regexp.QuoteMeta(name) + `([^\w.-]|$)`)
}

// Limits of the source scan for health routes, so that init stays quick in
// a project with a large tree; maxScanBytes bounds every file init reads.
const (
	maxScanFiles = 500
	maxScanBytes = 1 << 20
	maxScanDepth = 4
)

// Detect looks at dir and reports which kind of Python web project it holds:
// a Django project (manage.py), a Flask app (app.py, wsgi.py or main.py
// calling Flask(, or FLASK_APP in .env or .flaskenv), or a FastAPI or
// Starlette app (asgiFiles calling FastAPI( or Starlette(). Django wins
// when several are present, since manage.py marks the project root; Flask
// comes before the ASGI frameworks, as it did before they were detected.
func Detect(dir string) (*Project, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("detect project: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("detect project: %s is not a directory", dir)
	}
	p := &Project{Dir: dir}
	switch {
	case exists(dir, "manage.py"):
		if err := detectDjango(p); err != nil {
			return nil, err
		}
	case detectFlask(p):
	case detectASGI(p):
	default:
		looked := `manage.py (Django), app.py, wsgi.py or main.py containing "Flask(", FLASK_APP in .env or .flaskenv, and ` +
			strings.Join(asgiFiles, ", ") + ` containing "FastAPI(" or "Starlette("`
		if src, ok := findGunicorn(dir); ok {
			return nil, fmt.Errorf("found gunicorn in %s but no app in %s: looked for %s; run \"devcluster init\" in the app's directory, or write devcluster.yaml by hand",
				src, dir, looked)
		}
		return nil, fmt.Errorf("no Flask, Django, FastAPI or Starlette app found in %s: looked for %s; run \"devcluster init\" in the app's directory, or write devcluster.yaml by hand",
			dir, looked)
	}
	if src, ok := findGunicorn(dir); ok {
		p.Gunicorn = true
		p.Found = append(p.Found, "gunicorn listed in "+src)
	}
	p.Python = findVenvPython(dir)
	if p.Python != "" {
		p.Found = append(p.Found, "virtualenv interpreter "+p.Python)
	}
	if p.Gunicorn {
		p.GunicornCommand = "gunicorn"
		if p.Python != "" {
			if bin := filepath.Join(filepath.Dir(p.Python), "gunicorn"); exists(dir, bin) {
				p.GunicornCommand = bin
			}
		}
	}
	if server, src, ok := findASGIServer(dir); ok {
		p.ASGIServer = server
		if IsASGI(p.Kind) || p.Kind == KindDjango {
			p.Found = append(p.Found, server+" listed in "+src)
		}
	}
	p.HealthPath = "/"
	if path, file := findHealthRoute(dir, p.Kind); path != "" {
		p.HealthPath = path
		p.Found = append(p.Found, fmt.Sprintf("health route %s in %s", path, file))
	} else if p.Kind == KindFastAPI && fastapiDocs(p) {
		// An API often has no "/" at all; FastAPI serves its docs page
		// unless docs_url turns it off.
		p.HealthPath = "/docs"
		p.Found = append(p.Found, "no health route: FastAPI's /docs page instead")
	}
	return p, nil
}

// detectDjango reads manage.py for the settings module and finds the
// project package holding wsgi.py.
func detectDjango(p *Project) error {
	p.Kind = KindDjango
	data, err := readSource(filepath.Join(p.Dir, "manage.py"))
	if err != nil {
		return fmt.Errorf("detect Django project: %w", err)
	}
	if m := settingsRE.FindSubmatch(data); m != nil {
		p.SettingsModule = string(m[1])
		p.AppModule, _, _ = strings.Cut(p.SettingsModule, ".")
	} else if pkgs := packagesWith(p.Dir, "settings.py"); len(pkgs) > 0 {
		p.AppModule = pkgs[0]
		p.SettingsModule = pkgs[0] + ".settings"
	}
	switch {
	case p.AppModule != "" && exists(p.Dir, filepath.Join(p.AppModule, "wsgi.py")):
		p.WSGIModule = p.AppModule + ".wsgi"
	default:
		if pkgs := packagesWith(p.Dir, "wsgi.py"); len(pkgs) > 0 {
			p.WSGIModule = pkgs[0] + ".wsgi"
			if p.AppModule == "" {
				p.AppModule = pkgs[0]
			}
		}
	}
	if p.AppModule != "" && exists(p.Dir, filepath.Join(p.AppModule, "asgi.py")) {
		p.ASGIModule = p.AppModule + ".asgi"
	}
	found := "Django project (manage.py"
	if p.SettingsModule != "" {
		found += ", settings " + p.SettingsModule
	}
	if p.WSGIModule != "" {
		found += ", WSGI " + p.WSGIModule
	}
	if p.ASGIModule != "" {
		found += ", ASGI " + p.ASGIModule
	}
	p.Found = append(p.Found, found+")")
	return nil
}

// detectFlask finds the Flask app: FLASK_APP in .flaskenv or .env first (the
// user said so), else the first of app.py, wsgi.py, main.py that calls Flask(
// and makes no FastAPI or Starlette app.
func detectFlask(p *Project) bool {
	for _, name := range []string{".flaskenv", ".env"} {
		data, err := readSource(filepath.Join(p.Dir, name))
		if err != nil {
			continue
		}
		if m := flaskAppEnvRE.FindSubmatch(data); m != nil {
			p.Kind = KindFlask
			p.AppModule, p.AppObject = splitFlaskApp(string(m[1]))
			p.Found = append(p.Found, fmt.Sprintf("Flask app FLASK_APP=%s in %s", m[1], name))
			return true
		}
	}
	for _, name := range []string{"app.py", "wsgi.py", "main.py"} {
		data, err := readSource(filepath.Join(p.Dir, name))
		if err != nil || !strings.Contains(string(data), "Flask(") {
			continue
		}
		if asgiAssignRE.Match(data) {
			// A FastAPI or Starlette app that mounts a Flask one (WSGIMiddleware):
			// the ASGI app serves both, the Flask app alone would serve half.
			continue
		}
		p.Kind = KindFlask
		p.AppModule = strings.TrimSuffix(name, ".py")
		if m := flaskAssignRE.FindSubmatch(data); m != nil {
			p.AppObject = string(m[1])
		} else if m := flaskFactoryRE.FindSubmatch(data); m != nil {
			p.AppObject = string(m[1]) + "()"
		}
		found := "Flask app in " + name
		if p.AppObject != "" {
			found += " (" + p.AppModule + ":" + p.AppObject + ")"
		}
		p.Found = append(p.Found, found)
		return true
	}
	return false
}

// asgiFiles are where detectASGI looks for a FastAPI or Starlette app, in
// this order: the names of the frameworks' tutorials and project templates.
var asgiFiles = []string{"main.py", "app.py", "asgi.py", "api.py", "server.py", "app/main.py", "src/main.py"}

// detectASGI finds a FastAPI or Starlette app: the first of asgiFiles that
// calls FastAPI( or Starlette(, and the variable (or factory) holding it.
func detectASGI(p *Project) bool {
	for _, name := range asgiFiles {
		data, err := readSource(filepath.Join(p.Dir, filepath.FromSlash(name)))
		if err != nil {
			continue
		}
		m := asgiKindRE.FindSubmatch(data)
		if m == nil {
			continue
		}
		framework := string(m[1])
		p.AppModule = strings.ReplaceAll(strings.TrimSuffix(name, ".py"), "/", ".")
		p.AppObject = "app"
		if m := asgiAssignRE.FindSubmatch(data); m != nil {
			p.AppObject, framework = string(m[1]), string(m[2])
		} else if m := asgiFactoryRE.FindSubmatch(data); m != nil {
			p.AppObject = string(m[1]) + "()"
		}
		p.Kind = KindStarlette
		if framework == "FastAPI" {
			p.Kind = KindFastAPI
		}
		p.Found = append(p.Found, fmt.Sprintf("%s app in %s (%s:%s)", framework, name, p.AppModule, p.AppObject))
		return true
	}
	return false
}

// fastapiDocs reports whether p's FastAPI app serves its /docs page: its
// file does not set docs_url (None turns the page off, a path moves it).
func fastapiDocs(p *Project) bool {
	data, err := readSource(filepath.Join(p.Dir, filepath.FromSlash(strings.ReplaceAll(p.AppModule, ".", "/"))+".py"))
	return err == nil && !noDocsRE.Match(data)
}

// findASGIServer reports the first ASGI server that the first dependency file
// listing one names (uvicorn before hypercorn before daphne within a file).
func findASGIServer(dir string) (server, src string, ok bool) {
	for _, path := range dependencyFiles(dir) {
		data, err := readSource(path)
		if err != nil {
			continue
		}
		for _, s := range []string{ServerUvicorn, ServerHypercorn, ServerDaphne} {
			if asgiServerRE[s].Match(data) {
				return s, filepath.Base(path), true
			}
		}
	}
	return "", "", false
}

// splitFlaskApp turns a FLASK_APP value ("app.py", "pkg/app.py",
// "pkg.app:create_app()") into a module and an object.
func splitFlaskApp(v string) (module, object string) {
	module, object, _ = strings.Cut(v, ":")
	module = strings.TrimSuffix(module, ".py")
	module = strings.ReplaceAll(strings.TrimPrefix(module, "./"), "/", ".")
	return module, object
}

// dependencyFiles lists the files where a project names its dependencies:
// requirements*.txt (sorted), pyproject.toml, Pipfile.
func dependencyFiles(dir string) []string {
	reqs, _ := filepath.Glob(filepath.Join(dir, "requirements*.txt"))
	sort.Strings(reqs)
	return append(reqs, filepath.Join(dir, "pyproject.toml"), filepath.Join(dir, "Pipfile"))
}

// findGunicorn reports the first dependency file that lists gunicorn.
func findGunicorn(dir string) (string, bool) {
	for _, path := range dependencyFiles(dir) {
		data, err := readSource(path)
		if err == nil && gunicornRE.Match(data) {
			return filepath.Base(path), true
		}
	}
	return "", false
}

// findVenvPython returns the interpreter of a virtualenv in dir, relative to it.
func findVenvPython(dir string) string {
	for _, venv := range []string{".venv", "venv", "env"} {
		for _, exe := range []string{"python3", "python"} {
			rel := filepath.Join(venv, "bin", exe)
			if fi, err := os.Stat(filepath.Join(dir, rel)); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return rel
			}
		}
	}
	return ""
}

// findHealthRoute scans the project's Python source for a health route.
func findHealthRoute(dir, kind string) (path, file string) {
	scanned := 0
	errStop := errors.New("stop")
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of the tree are simply not scanned
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if p != dir && (skipDir(d.Name()) || strings.Count(rel, string(filepath.Separator)) >= maxScanDepth) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".py") {
			return nil
		}
		if scanned++; scanned > maxScanFiles {
			return errStop
		}
		data, err := readSource(p)
		if err != nil {
			return nil
		}
		if m := healthRouteRE.FindSubmatch(data); m != nil {
			path, file = string(m[1]), rel
			return errStop
		}
		if kind == KindDjango {
			if m := djangoHealthRE.FindSubmatch(data); m != nil {
				path, file = "/"+string(m[1])+string(m[2]), rel
				return errStop
			}
		}
		return nil
	})
	return path, file
}

// skipDir names directories that hold no project source.
func skipDir(name string) bool {
	switch name {
	case "venv", "env", "node_modules", "__pycache__", "site-packages", "static", "media":
		return true
	}
	return strings.HasPrefix(name, ".")
}

// packagesWith returns the sorted names of dir's subdirectories holding file.
func packagesWith(dir, file string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*", file))
	var pkgs []string
	for _, m := range matches {
		pkg := filepath.Base(filepath.Dir(m))
		if !skipDir(pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	sort.Strings(pkgs)
	return pkgs
}

// exists reports whether dir/name is a regular file (or a link to one): a
// named pipe called manage.py marks no project.
func exists(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular()
}
