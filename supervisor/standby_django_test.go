package supervisor

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// djangoViews is the view of the project djangoProject writes: what each part
// of the project says now, and where polls/models.py was imported (in the
// standby before its go, "standby.py", or after the start, "manage.py").
const djangoViews = `import os
from django.conf import settings
from django.http import JsonResponse
import polls.models

VERSION = "v1"


def index(request):
    return JsonResponse({"version": VERSION, "pid": os.getpid(), "models": polls.models.NAME,
                         "setting": settings.SETTING_V, "greeting": settings.GREETING,
                         "models_under": polls.models.MAIN_AT_IMPORT})
`

type djangoAnswer struct {
	Version     string `json:"version"`
	PID         int    `json:"pid"`
	Models      string `json:"models"`
	Setting     string `json:"setting"`
	Greeting    string `json:"greeting"`
	ModelsUnder string `json:"models_under"`
}

// djangoProject makes a fresh "django-admin startproject mysite" with an app
// polls (a model, and a module constant NAME), a setting SETTING_V in
// settings.py and GREETING read from greeting.ini, and the view djangoViews
// at /; it returns the project directory.
func djangoProject(t *testing.T) string {
	t.Helper()
	tstest.NeedModules(t, "/usr/bin/python3", "django")
	dir := t.TempDir()
	if out, err := exec.Command("/usr/bin/python3", "-m", "django", "startproject", "mysite", dir).CombinedOutput(); err != nil {
		t.Fatalf("startproject: %v\n%s", err, out)
	}
	settings, err := os.ReadFile(filepath.Join(dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(settings), "INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n    'polls',\n", 1)
	s += "\nSETTING_V = \"s1\"\nGREETING = (BASE_DIR / \"greeting.ini\").read_text().strip()\n" +
		"try:\n    from .local_settings import *\nexcept ImportError:\n    pass\n"
	files := map[string]string{
		"mysite/settings.py": s,
		"mysite/views.py":    djangoViews,
		"mysite/urls.py":     "from django.urls import path\nfrom . import views\nurlpatterns = [path(\"\", views.index)]\n",
		"greeting.ini":       "g1\n",
		"polls/__init__.py":  "",
		"polls/models.py": `import os, sys
from django.db import models

NAME = "m1"
MAIN_AT_IMPORT = os.path.basename(getattr(sys.modules["__main__"], "__file__", "") or "")


class Question(models.Model):
    text = models.CharField(max_length=200)
`,
	}
	writeTree(t, dir, files)
	return dir
}

// djangoCommand is web.1's command: runserver on port, Django's reloader off.
func djangoCommand(port int) string {
	return "/usr/bin/python3 manage.py runserver --noreload 127.0.0.1:" + strconv.Itoa(port)
}

// editFile replaces old by new in the file at path, failing if old is not there.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDjangoStandbySetsUpBeforeItsGo (issue 22 item 2): a Django standby
// imports the settings and populates the app registry (INSTALLED_APPS' models)
// before its go, and still runs what was saved: a save of views.py (not
// imported by the setup) is served by the standby warm, its models imported
// before the go; a save of the app's models.py, of settings.py, of a file the
// settings read (greeting.ini), or a new local_settings.py that the settings
// import when it is there, makes the standby start cold, in its own process,
// with the new code. Before, the models were always imported after
// the go ("manage.py"), which is what made Django's reload slow.
func TestDjangoStandbySetsUpBeforeItsGo(t *testing.T) {
	t.Parallel()
	dir := djangoProject(t)
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, t.TempDir(), djangoCommand(port), port),
	}})
	c.waitReady()
	ask := func(what string, ok func(a djangoAnswer) bool) djangoAnswer {
		t.Helper()
		var a djangoAnswer
		tstest.WaitFor(t, 20*time.Second, what, func() bool {
			c.ended()
			b, err := httpGetBody(port)
			return err == nil && json.Unmarshal(b, &a) == nil && ok(a)
		})
		return a
	}
	restart := func() {
		t.Helper()
		if err := c.s.Restart(context.Background(), "web.1"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
	}
	if a := ask("web.1's cold start", func(a djangoAnswer) bool { return a.Version == "v1" }); a.ModelsUnder != "manage.py" {
		t.Errorf("first (cold) start: models imported under %q, want manage.py", a.ModelsUnder)
	}

	standby := c.waitStandby("web.1")
	editFile(t, filepath.Join(dir, "mysite", "views.py"), `VERSION = "v1"`, `VERSION = "v2"`)
	restart()
	a := ask("views.py's v2 from the standby", func(a djangoAnswer) bool { return a.Version == "v2" })
	if a.PID != standby || a.ModelsUnder != "standby.py" {
		t.Errorf("after a save of views.py: %+v, want pid %d (the standby) with its models imported before the go (standby.py)", a, standby)
	}

	steps := []struct {
		file, old, new string // old "": a new file
		ok             func(a djangoAnswer) bool
	}{
		{"polls/models.py", `NAME = "m1"`, `NAME = "m2"`, func(a djangoAnswer) bool { return a.Models == "m2" }},
		{"mysite/settings.py", `SETTING_V = "s1"`, `SETTING_V = "s2"`, func(a djangoAnswer) bool { return a.Setting == "s2" }},
		{"greeting.ini", "g1", "g2", func(a djangoAnswer) bool { return a.Greeting == "g2" }},
		// The settings' "from .local_settings import *" failed in the standby.
		{"mysite/local_settings.py", "", `SETTING_V = "s3"`, func(a djangoAnswer) bool { return a.Setting == "s3" }},
	}
	for _, st := range steps {
		standby := c.waitStandby("web.1")
		if st.old == "" {
			writeTree(t, dir, map[string]string{st.file: st.new + "\n"})
		} else {
			editFile(t, filepath.Join(dir, st.file), st.old, st.new)
		}
		restart()
		a := ask("the save of "+st.file+" served", st.ok)
		if a.PID != standby || a.ModelsUnder != "manage.py" {
			t.Errorf("after a save of %s: %+v, want pid %d (the standby's process, started cold: models under manage.py)", st.file, a, standby)
		}
	}
	if st := c.status("web.1"); st.Restarts != 0 {
		t.Errorf("web.1 restarts = %d, want 0", st.Restarts)
	}
	if out := c.out.String(); strings.Contains(out, "Traceback") || strings.Contains(out, "devcluster standby") {
		t.Errorf("output has a traceback or a standby message:\n%s", out)
	}
}

// TestDjangoStandbyBrokenURLConfAsCold: a save that breaks urls.py (imported
// by runserver's system checks after the go, never by the standby's setup) is
// reported by a standby that set Django up exactly as a cold start reports it:
// the same lines, none of the standby's frames. The checks are not skipped.
func TestDjangoStandbyBrokenURLConfAsCold(t *testing.T) {
	t.Parallel()
	dir := djangoProject(t)
	tag := newTag(t)
	port := freePort(t)
	sp := standbySpec(tag, "web.1", dir, t.TempDir(), djangoCommand(port), port)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{sp}})
	c.waitReady()
	standby := c.waitStandby("web.1")
	editFile(t, filepath.Join(dir, "mysite", "urls.py"), "urlpatterns = [", "urlpatterns = [undefined_view, ")
	if err := c.s.Restart(context.Background(), "web.1"); err == nil {
		t.Fatal("Restart with a broken urls.py: no error")
	}
	const want = "NameError: name 'undefined_view' is not defined"
	c.waitLine("web.1", want)
	if pidAlive(standby) {
		t.Errorf("web.1's standby (pid %d) is still waiting: the restart did not use it", standby)
	}
	var warm []string
	for _, l := range c.s.Logs([]string{"web.1"}, 0) {
		warm = append(warm, l.Text)
		if strings.Contains(l.Text, want) {
			break
		}
	}
	cmd := exec.Command("/usr/bin/python3", "manage.py", "runserver", "--noreload", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	cmd.Dir, cmd.Env = dir, sp.Env
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("cold runserver with a broken urls.py exited 0:\n%s", out)
	}
	cold := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	// The log has the first start's lines before the restart's.
	for i := len(warm) - 1; i >= 0; i-- {
		if warm[i] == "Performing system checks..." {
			warm = warm[i:]
			break
		}
	}
	if w, c := reportOf(warm, dir), reportOf(cold, dir); w != c {
		t.Errorf("the standby's report differs from a cold start's\nstandby:\n%s\ncold:\n%s", w, c)
	}
	if all := strings.Join(warm, "\n"); strings.Contains(all, "standby.py") || strings.Contains(all, "runpy") {
		t.Errorf("the report shows the standby's own frames:\n%s", all)
	}
}

// reportOf is what lines (runserver's output and a traceback) tell the user:
// every line but the traceback's frames in Django's own files, which are
// dropped. Django 3.2 keeps its system checks in a set, iterated in the order
// of the check functions' addresses, so the check that first imports the URL
// conf (check_url_config or check_url_namespaces_unique) can differ from one
// process to another; the message, the project's frames and the error cannot.
func reportOf(lines []string, dir string) string {
	var out []string
	inFrame := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "  File "):
			inFrame = !strings.Contains(l, dir)
		case !strings.HasPrefix(l, "    "):
			inFrame = false
		}
		if !inFrame {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDjangoStandbyLeavesAProjectReadyToTheGo: a project app whose AppConfig
// has a ready() of its own (which may start a thread or connect) gets it run
// once, after the go, in the process that serves: the standby reads the
// settings but leaves the app registry (models, ready()) to the start.
func TestDjangoStandbyLeavesAProjectReadyToTheGo(t *testing.T) {
	t.Parallel()
	dir := djangoProject(t)
	marks := t.TempDir()
	writeTree(t, dir, map[string]string{"polls/apps.py": `import os
from django.apps import AppConfig


class PollsConfig(AppConfig):
    name = "polls"

    def ready(self):
        open(os.path.join(` + pyQuote(marks) + `, "ready-%d" % os.getpid()), "w").close()
`})
	tag := newTag(t)
	port := freePort(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{
		standbySpec(tag, "web.1", dir, t.TempDir(), djangoCommand(port), port),
	}})
	c.waitReady()
	standby := c.waitStandby("web.1")
	editFile(t, filepath.Join(dir, "mysite", "views.py"), `VERSION = "v1"`, `VERSION = "v2"`)
	if err := c.s.Restart(context.Background(), "web.1"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	var a djangoAnswer
	tstest.WaitFor(t, 20*time.Second, "views.py's v2 from the standby", func() bool {
		c.ended()
		b, err := httpGetBody(port)
		return err == nil && json.Unmarshal(b, &a) == nil && a.Version == "v2"
	})
	if a.PID != standby || a.ModelsUnder != "manage.py" {
		t.Errorf("after the restart: %+v, want pid %d (the standby) with its models imported after the go (manage.py)", a, standby)
	}
	if _, err := os.Stat(filepath.Join(marks, "ready-"+strconv.Itoa(standby))); err != nil {
		t.Errorf("polls' ready() did not run in the process that serves: %v", err)
	}
}
