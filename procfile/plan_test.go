package procfile

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseFormation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    map[string]int
		wantErr string
	}{
		{"", map[string]int{}, ""},
		{"web=3", map[string]int{"web": 3}, ""},
		{"web=3,worker=1", map[string]int{"web": 3, "worker": 1}, ""},
		{" web = 3 , worker=0 ,", map[string]int{"web": 3, "worker": 0}, ""},
		{"web=x", nil, `-m "web=x": instance count "x" is not a whole number`},
		{"web=-1", nil, `-m "web=-1": instance count "-1" is not a whole number`},
		{"web", nil, `-m "web": expected NAME=COUNT, like web=3`},
		{"my web=1", nil, `-m "my web=1": invalid process name "my web"`},
		{"web=1,web=2", nil, `-m "web=2": web is given twice`},
		{"web=5000", nil, `-m "web=5000": at most 1000 instances per process`},
		{"web=x,worker", nil, "-m \"web=x\": instance count \"x\" is not a whole number\n-m \"worker\": expected NAME=COUNT, like web=3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFormation(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, procfile string) *Manifest {
	t.Helper()
	var m *Manifest
	var err error
	if strings.HasPrefix(procfile, "processes:") {
		m, err = ParseYAML("devcluster.yaml", strings.NewReader(procfile))
	} else {
		m, err = ParseProcfile("Procfile", strings.NewReader(procfile))
	}
	if err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return m
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		manifest  string
		formation map[string]int
		base      int
		want      string // "id:port ..."
		wantErr   string
	}{
		{"defaults: web 2, others 1", "web: a\nworker: b\nclock: c\n", nil, 0,
			"web.1:5000 web.2:5001 worker.1:5100 clock.1:5200", ""},
		{"formation", "web: a\nworker: b\n", map[string]int{"web": 3, "worker": 2}, 5000,
			"web.1:5000 web.2:5001 web.3:5002 worker.1:5100 worker.2:5101", ""},
		{"zero is not started", "web: a\nworker: b\n", map[string]int{"worker": 0}, 5000,
			"web.1:5000 web.2:5001", ""},
		{"base port", "worker: b\nweb: a\n", nil, 7000,
			"worker.1:7000 web.1:7100 web.2:7101", ""},
		{"manifest instances and pinned port", "processes:\n  web:\n    command: a\n    instances: 3\n    port: 8000\n  api:\n    command: b\n    instances: 2\n", nil, 5000,
			"web.1:8000 web.2:8001 web.3:8002 api.1:5100 api.2:5101", ""},
		{"formation beats manifest", "processes:\n  web:\n    command: a\n    instances: 3\n", map[string]int{"web": 1}, 5000,
			"web.1:5000", ""},
		{"unknown name", "web: a\nworker: b\n", map[string]int{"wrker": 1, "zzz": 2}, 5000, "",
			"-m: unknown process \"wrker\" (did you mean \"worker\"?)\n-m: unknown process \"zzz\" (known: web, worker)"},
		{"overlap between processes", "web: a\nworker: b\n", map[string]int{"web": 101}, 5000, "",
			"plan instances: web.101 and worker.1 would both get port 5100; run fewer instances of web, or give worker another \"port:\" in devcluster.yaml"},
		{"overlap with pinned port", "processes:\n  web: {command: a, port: 5100}\n  api: b\n", nil, 5000, "",
			"plan instances: web.1 and api.1 would both get port 5100; run fewer instances of web, or give api another \"port:\" in devcluster.yaml"},
		{"port too high", "web: a\n", map[string]int{"web": 3}, 65534, "",
			"plan instances: web.3 would get port 65536, above 65535; choose a lower --port, or a lower \"port:\" for web in devcluster.yaml"},
		{"bad base port", "web: a\n", nil, 70000, "", "plan instances: base port 70000 is not between 1 and 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustParse(t, tt.manifest)
			plan, err := m.Plan(tt.formation, tt.base)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			var got []string
			for _, in := range plan {
				got = append(got, in.ID+":"+strconv.Itoa(in.Port))
				if in.Process == nil || in.ID != in.Process.Name+"."+strconv.Itoa(in.Index) {
					t.Errorf("instance %s: inconsistent Process/Index %+v", in.ID, in)
				}
				if p := m.PortFor(in.Process, in.Index, tt.base); p != in.Port {
					t.Errorf("PortFor(%s): got %d, want %d", in.ID, p, in.Port)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

func TestPortForScaling(t *testing.T) {
	t.Parallel()
	m := mustParse(t, "web: a\nworker: b\n")
	if got := m.PortFor(m.Process("web"), 5, 5000); got != 5004 {
		t.Errorf("web.5: got port %d, want 5004", got)
	}
	if got := m.PortFor(m.Process("worker"), 2, 0); got != 5101 {
		t.Errorf("worker.2 with default base: got port %d, want 5101", got)
	}
	if got := m.PortFor(&Process{Name: "other"}, 1, 5000); got != 0 {
		t.Errorf("unknown process: got port %d, want 0", got)
	}
}

func TestReloaderWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command string
		env     map[string]string
		want    string // substring of the warning; "" = no warning
	}{
		{"flask --app app run --no-reload --port $PORT", nil, ""},
		{"flask --app app run --port $PORT", nil, ""},
		{"flask --app app run --debug --port $PORT", nil, "add --no-reload"},
		{"flask --debug --app app run", nil, "add --no-reload"},
		{"python3 -m flask --app app run --reload", nil, "replace --reload with --no-reload"},
		{".venv/bin/flask run --debug --no-reload", nil, ""},
		{"FLASK_DEBUG=1 flask run", nil, "add --no-reload"},
		{"FLASK_DEBUG=0 flask run", nil, ""},
		{"flask run", map[string]string{"FLASK_DEBUG": "true"}, "add --no-reload"},
		{"python3 manage.py runserver 127.0.0.1:$PORT", nil, "add --noreload"},
		{"python3 manage.py runserver --noreload 127.0.0.1:$PORT", nil, ""},
		{"python3 manage.py migrate", nil, ""},
		{"gunicorn -b 127.0.0.1:$PORT app:app --reload", nil, "remove --reload"},
		{"gunicorn -b 127.0.0.1:$PORT app:app", nil, ""},
		{"uvicorn main:app --reload --port $PORT", nil, "remove --reload"},
		{"python3 worker.py --reload", nil, ""},
		{"hypercorn main:app --reload --bind 127.0.0.1:$PORT", nil, "hypercorn --reload restarts its workers on its own while it keeps the port; remove --reload"},
		{"/usr/bin/python3 -m hypercorn --reload main:app", nil, "remove --reload"},
		{"hypercorn main:app --bind 127.0.0.1:$PORT", nil, ""},
		{"daphne -b 127.0.0.1 -p $PORT proj.asgi:application", nil, ""},
		{"granian --interface asgi main:app --reload", nil, "remove --reload"},
		{"sanic server:app --dev --port $PORT", nil, "remove them"},
		{"sanic server:app -r", nil, "remove them"},
		{"sanic server:app --port $PORT", nil, ""},
		{"litestar run --reload --port $PORT", nil, "remove --reload"},
		{"fastapi dev main.py --port $PORT", nil, "add --no-reload, or use fastapi run"},
		{"fastapi dev main.py --no-reload --port $PORT", nil, ""},
		{"fastapi run main.py --port $PORT", nil, ""},
		{"fastapi run main.py --reload", nil, "remove --reload"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			t.Parallel()
			m := &Manifest{Processes: []*Process{{Name: "web", Command: tt.command, Env: tt.env}}}
			got := ReloaderWarnings(m)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("got %q, want no warning", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], `process "web": `) || !strings.Contains(got[0], tt.want) {
				t.Errorf("got %q, want one warning naming web and containing %q", got, tt.want)
			}
		})
	}
}

func TestFindAndLoad(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("prefers devcluster.yaml", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write(t, dir, "Procfile", "web: a\n")
		write(t, dir, "devcluster.yml", "processes:\n  web: b\n")
		write(t, dir, "devcluster.yaml", "processes:\n  web: c\n")
		path, err := Find(dir)
		if err != nil || path != filepath.Join(dir, "devcluster.yaml") {
			t.Fatalf("got %q, %v, want devcluster.yaml", path, err)
		}
		m, err := Load(path)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if m.Format != "yaml" || m.Processes[0].Command != "c" || m.Dir != dir || m.Path != path {
			t.Errorf("got format %q command %q dir %q path %q, want yaml c %s %s", m.Format, m.Processes[0].Command, m.Dir, m.Path, dir, path)
		}
	})
	t.Run("then Procfile", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write(t, dir, "Procfile", "web: a\n")
		path, err := Find(dir)
		if err != nil || filepath.Base(path) != "Procfile" {
			t.Fatalf("got %q, %v, want Procfile", path, err)
		}
		m, err := Load(path)
		if err != nil || m.Format != "procfile" {
			t.Fatalf("got %v, %v, want a procfile manifest", m, err)
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := Find(dir)
		want := "no manifest in " + dir + ": looked for devcluster.yaml, devcluster.yml, Procfile; run \"devcluster init\" to write one, or pass -f FILE"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("errors name the file as given", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write(t, dir, "Procfile.dev", "web:\n")
		_, err := Load(filepath.Join(dir, "Procfile.dev"))
		want := filepath.Join(dir, "Procfile.dev") + `:1: missing command after "web:"`
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		if err == nil || !strings.HasPrefix(err.Error(), "read manifest: ") {
			t.Errorf("got %v, want a read manifest error", err)
		}
	})
}

// TestPlanRefusesCountOverLimit: Plan took any count from its caller, so a
// formation built at scale time (not by ParseFormation) planned 1001 workers
// that -m refuses.
func TestPlanRefusesCountOverLimit(t *testing.T) {
	t.Parallel()
	m := mustParse(t, "web: a\nworker: b\n")
	_, err := m.Plan(map[string]int{"worker": 1001}, 30000)
	want := "plan instances: worker=1001: at most 1000 instances per process"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// TestScaleRunsStartupPortPlan: live scaling computed the new instance's port
// alone, so with a on 36000 and b on 36100, "scale a=101" put a.101 on b.1's
// port, and "scale worker=1001" was accepted though -m refuses it.
func TestScaleRunsStartupPortPlan(t *testing.T) {
	t.Parallel()
	pinned := "processes:\n  a: {command: x, port: 36000}\n  b: {command: y, port: 36100}\n  worker: z\n"
	tests := []struct {
		name      string
		manifest  string
		formation map[string]int
		process   string
		n, base   int
		want      string // "id:port ..." of the whole new plan
		wantErr   string
	}{
		{"collision with a pinned port", pinned, map[string]int{"a": 100}, "a", 101, 30000, "",
			"plan instances: a.101 and b.1 would both get port 36100; run fewer instances of a, or give b another \"port:\" in devcluster.yaml"},
		{"over the instance limit", pinned, nil, "worker", 1001, 30000, "",
			"plan instances: worker=1001: at most 1000 instances per process"},
		{"negative count", pinned, nil, "worker", -1, 30000, "",
			"plan instances: worker=-1: the instance count must be 0 or more"},
		{"unknown process", pinned, nil, "wrker", 2, 30000, "",
			"plan instances: unknown process \"wrker\" (did you mean \"worker\"?)"},
		{"port above 65535", "web: a\n", nil, "web", 3, 65534, "",
			"plan instances: web.3 would get port 65536, above 65535; choose a lower --port, or a lower \"port:\" for web in devcluster.yaml"},
		{"up: running instances keep their ports", pinned, map[string]int{"a": 2, "worker": 0}, "a", 3, 30000,
			"a.1:36000 a.2:36001 a.3:36002 b.1:36100", ""},
		{"down to zero", "web: a\nworker: b\n", map[string]int{"web": 3}, "worker", 0, 30000,
			"web.1:30000 web.2:30001 web.3:30002", ""},
		{"automatic ports collide", "web: a\nworker: b\n", nil, "web", 101, 30000, "",
			"plan instances: web.101 and worker.1 would both get port 30100; run fewer instances of web, or give worker another \"port:\" in devcluster.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustParse(t, tt.manifest)
			before := maps.Clone(tt.formation)
			plan, err := m.PlanScale(tt.formation, tt.process, tt.n, tt.base)
			if !maps.Equal(before, tt.formation) {
				t.Errorf("PlanScale changed its formation: got %v, want %v", tt.formation, before)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			var got []string
			for _, in := range plan {
				got = append(got, in.ID+":"+strconv.Itoa(in.Port))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}
