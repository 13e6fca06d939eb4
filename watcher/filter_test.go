package watcher

import (
	"path/filepath"
	"testing"
)

func TestFilterDirs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"myenv/pyvenv.cfg": "home = /usr/bin\n",
		"app/":             "",
		"tests/":           "",
		"gen/":             "",
		".gitignore":       "gen/\n",
	})
	f, err := newFilter(Config{Exclude: []string{"tests"}, Gitignore: true}, root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		want bool // skipped
	}{
		{".git", true}, {".hg", true}, {".svn", true},
		{".venv", true}, {"venv", true}, {"__pycache__", true}, {"node_modules", true},
		{".tox", true}, {".nox", true}, {".mypy_cache", true}, {".pytest_cache", true},
		{"htmlcov", true}, {"build", true}, {"dist", true}, {"myproj.egg-info", true},
		{"pkg/__pycache__", true},
		{"myenv", true}, // holds pyvenv.cfg
		{"tests", true}, // Exclude
		{"gen", true},   // .gitignore
		{"app", false},
		{"app/templates", false},
		{"builder", false},
		{"distinct", false},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if got := f.skipDir(filepath.Join(root, filepath.FromSlash(tt.dir))); got != tt.want {
				t.Errorf("skipDir(%s): got %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
}

func TestFilterFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{".gitignore": "secret.py\n"})
	tests := []struct {
		name string
		cfg  Config
		file string
		want bool
	}{
		{"py", Config{}, "app.py", true},
		{"nested py", Config{}, "pkg/sub/views.py", true},
		{"env", Config{}, ".env", true},
		{"env.local", Config{}, ".env.local", true},
		{"prod.env", Config{}, "prod.env", true},
		{"toml", Config{}, "pyproject.toml", true},
		{"ini", Config{}, "setup.ini", true},
		{"cfg", Config{}, "setup.cfg", true},
		{"yaml", Config{}, "conf/settings.yaml", true},
		{"yml", Config{}, "x.yml", true},
		{"mo", Config{}, "locale/de/LC_MESSAGES/django.mo", true},
		{"template not included", Config{}, "templates/index.html", false},
		{"markdown not included", Config{}, "README.md", false},
		{"pyc", Config{}, "app.pyc", false},
		{"pyo", Config{}, "app.pyo", false},
		{"vim swap", Config{}, ".app.py.swp", false},
		{"vim swx", Config{}, ".app.py.swx", false},
		{"backup tilde", Config{}, "app.py~", false},
		{"emacs lock", Config{}, ".#app.py", false},
		{"emacs autosave", Config{}, "#app.py#", false},
		{"vim 4913", Config{Include: []string{"*"}}, "4913", false},
		{"tmp", Config{Include: []string{"*"}}, "x.py.tmp", false},
		{"bak", Config{Include: []string{"*"}}, "x.bak", false},
		{"DS_Store", Config{Include: []string{"*"}}, ".DS_Store", false},
		{"sqlite", Config{Include: []string{"*"}}, "db.sqlite3", false},
		{"sqlite journal", Config{Include: []string{"*"}}, "db.sqlite3-journal", false},
		{"wal", Config{Include: []string{"*"}}, "x-wal", false},
		{"shm", Config{Include: []string{"*"}}, "x-shm", false},
		{"log", Config{Include: []string{"*"}}, "app.log", false},
		{"custom include", Config{Include: []string{"*.html"}}, "templates/index.html", true},
		{"custom include drops default", Config{Include: []string{"*.html"}}, "app.py", false},
		{"include by path", Config{Include: []string{"templates/**/*.html"}}, "templates/a/b.html", true},
		{"exclude base", Config{Exclude: []string{"test_*.py"}}, "pkg/test_x.py", false},
		{"exclude path", Config{Exclude: []string{"migrations/**"}}, "migrations/0001.py", false},
		{"exclude doublestar", Config{Exclude: []string{"**/migrations/*.py"}}, "app/migrations/0001.py", false},
		{"exclude leaves others", Config{Exclude: []string{"migrations/**"}}, "app/models.py", true},
		{"gitignored", Config{Gitignore: true}, "secret.py", false},
		{"gitignore off", Config{}, "secret.py", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := newFilter(tt.cfg, root)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.wantFile(filepath.Join(root, filepath.FromSlash(tt.file))); got != tt.want {
				t.Errorf("wantFile(%s): got %v, want %v", tt.file, got, tt.want)
			}
		})
	}
}

func TestFilterGitignoreWrittenLater(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	f, err := newFilter(Config{Gitignore: true}, root)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "gen", "out.py")
	if !f.wantFile(p) {
		t.Fatalf("wantFile(gen/out.py) before .gitignore: got false, want true")
	}
	writeFiles(t, root, map[string]string{".gitignore": "gen/\n"})
	if err := f.git.load(root); err != nil {
		t.Fatal(err)
	}
	if f.wantFile(p) {
		t.Errorf("wantFile(gen/out.py) after .gitignore lists gen/: got true, want false")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"file.py": ""})
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing root", Config{Root: filepath.Join(root, "nope")}},
		{"root is a file", Config{Root: filepath.Join(root, "file.py")}},
		{"missing path", Config{Root: root, Paths: []string{"src"}}},
		{"bad include", Config{Root: root, Include: []string{"[.py"}}},
		{"bad exclude", Config{Root: root, Exclude: []string{"a/[b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, err := New(tt.cfg); err == nil {
				t.Errorf("New(%+v): got %v, nil error; want an error", tt.cfg, w)
			}
		})
	}
}

func TestCountDirs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app/views/":          "",
		"app/models/":         "",
		"app/__pycache__/":    "",
		"node_modules/a/b/":   "",
		".git/objects/":       "",
		"env2/pyvenv.cfg":     "",
		"env2/lib/":           "",
		"tests/unit/":         "",
		"gen/x/":              "",
		".gitignore":          "gen/\n",
		"manage.py":           "",
		"static/css/":         "",
		"project.egg-info/a/": "",
	})
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		// root, app, app/views, app/models, tests, tests/unit, gen, gen/x, static, static/css
		{"defaults", Config{Root: root}, 10},
		{"gitignore", Config{Root: root, Gitignore: true}, 8},
		{"exclude", Config{Root: root, Gitignore: true, Exclude: []string{"tests", "static"}}, 4},
		{"paths", Config{Root: root, Paths: []string{"app"}}, 3},
		{"file path watches its directory", Config{Root: root, Paths: []string{"manage.py"}}, 1},
		{"overlapping paths count once", Config{Root: root, Paths: []string{"app", "app/views"}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CountDirs(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CountDirs: got %d, want %d", got, tt.want)
			}
		})
	}
}
