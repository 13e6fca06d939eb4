"""devcluster's warm standby: an instance's next process, started before it is needed.

devcluster writes this file and runs it (nobody else should) as

    PYTHON standby.py GO_FD ARG...

where ARG... is what the instance's command passes its interpreter: "-m flask --app app
run --port 5000" or "app.py --port 5000", and GO_FD is a socket to devcluster. It
imports the libraries the app imports (never the app's own modules: those are imported
only once it runs, so the new code is what runs), writes one byte to GO_FD to say it is
warm, and waits on GO_FD. One byte there means "run the app now, in this process"; end
of file means devcluster no longer wants this process: exit. At the go it
runs ARG... as the interpreter would have, with runpy, so the app pays for importing
its own code and binding its port, not for starting Python and importing Flask again.

Whatever it cannot do exactly as the interpreter would (an option such as -O or -X,
code given with -c, an app that calls a monkey-patching function, a library that
forks when imported) it leaves to the interpreter itself:
at the go it execs PYTHON ARG..., an ordinary cold start. So does a library file that
changed between the preload and the go (a pip install meanwhile).

A Django project is the one case where the standby runs some of the app's own code
before the go: django_setup imports its settings and populates the app registry
(its models), recording every project file read meanwhile; if one has changed at
the go (a save of settings.py or models.py), it starts cold, with the new code.
What a save changes most (views, URLs) is imported only after the go.
"""

import ast
import os
import re
import sys

# Files scanned for imports, at most: the entry file and the project modules it
# imports, breadth first.
MAX_SCANNED = 40
# Options of the interpreter that change nothing once it runs (devcluster sets
# PYTHONUNBUFFERED anyway) or that can be applied now.
HARMLESS_FLAGS = set("u")


def parse(args):
    """(mode, target, rest, why): mode "m" (module), "s" (script), or None with why."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-m":
            if i + 1 >= len(args):
                return None, None, None, "-m without a module"
            return "m", args[i + 1], args[i + 2:], None
        if a.startswith("-m") and len(a) > 2:
            return "m", a[2:], args[i + 1:], None
        if a == "-B":
            sys.dont_write_bytecode = True
        elif a.startswith("-") and a != "-" and len(a) > 1 and a[1] != "-" and set(a[1:]) <= HARMLESS_FLAGS | {"B"}:
            if "B" in a:
                sys.dont_write_bytecode = True
        elif a.startswith("-"):
            return None, None, None, "interpreter option %s" % a
        else:
            return "s", a, args[i + 1:], None
        i += 1
    return None, None, None, "no script or module"


class Project:
    """Tells the app's own files from libraries, and finds what they import."""

    def __init__(self, dirs):
        self.dirs = [os.path.realpath(d) for d in dirs]

    def owns(self, path):
        """Whether path is the app's own code: under a project directory and not in an
        installed environment inside it (a .venv in the project is a library)."""
        p = os.path.realpath(path)
        parts = p.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        return any(p == d or p.startswith(d + os.sep) for d in self.dirs)

    def local_file(self, name, base=None):
        """The file of project module name (dotted), looked for under base or the
        project directories, or None."""
        rel = name.replace(".", os.sep)
        for d in [base] if base else self.dirs:
            for cand in (os.path.join(d, rel + ".py"), os.path.join(d, rel, "__init__.py")):
                if os.path.isfile(cand):
                    return cand
        return None


def top_origin(name):
    """Where top-level module name comes from, without importing (or running) it:
    a path, "built-in", "frozen", or None when not found."""
    import importlib.machinery
    import importlib.util

    top = name.split(".")[0]
    if top in sys.builtin_module_names:
        return "built-in"
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    except (ImportError, ValueError):
        return None
    if spec is None:
        try:
            spec = importlib.util.find_spec(top)  # frozen modules
        except (ImportError, ValueError):
            return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("namespace",):
        return spec.origin
    locs = list(spec.submodule_search_locations or [])
    return locs[0] if locs else None


def imports_of(path, main=False):
    """The (name, level, fromnames) of every import statement in path that runs when
    path is imported (or, with main, run as __main__), in order: not those in a
    function's body, under "if TYPE_CHECKING:", or, unless main, under
    "if __name__ == '__main__':". Raises MonkeyPatching when the code calls a
    monkey-patching function anywhere (in a function too: a main() that patches)."""
    with open(path, "rb") as f:
        source = f.read()
    tree = ast.parse(source, path)
    if monkey_patches(tree):
        raise MonkeyPatching(path)
    out = []
    executed_imports(tree.body, main, out)
    return out


def executed_imports(body, main, out):
    """Appends to out the imports that running the statements of body runs."""
    for node in body:
        if isinstance(node, ast.Import):
            out.extend((a.name, 0, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level, tuple(a.name for a in node.names)))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue  # runs when called, if ever
        elif isinstance(node, ast.If) and (is_type_checking(node.test) or (not main and is_main_test(node.test))):
            executed_imports(node.orelse, main, out)
        else:
            for block in blocks(node):
                executed_imports(block, main, out)


def blocks(node):
    """The statement lists inside a compound statement (if, try, with, for, while,
    match, class), in the order they can run."""
    yield getattr(node, "body", None) or []
    for h in getattr(node, "handlers", None) or []:
        yield h.body
    for c in getattr(node, "cases", None) or []:
        yield c.body
    yield getattr(node, "orelse", None) or []
    yield getattr(node, "finalbody", None) or []


def is_type_checking(test):
    """Whether test is TYPE_CHECKING or X.TYPE_CHECKING (typing's, false when run)."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def is_main_test(test):
    """Whether test is __name__ == "__main__" (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


def dotted(expr):
    """["gevent", "monkey", "patch_all"] for gevent.monkey.patch_all, [] for a call's
    result or a subscript."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return []
    parts.append(expr.id)
    return parts[::-1]


def monkey_patches(tree):
    """Whether the code calls a monkey-patching function: gevent's monkey.patch_*
    (however imported), eventlet.monkey_patch, anything.monkey_patch. Comments,
    strings and names that merely mention it do not count."""
    monkeys, patchers = {"monkey"}, {"monkey_patch"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[-1] == "monkey" and a.asname:
                    monkeys.add(a.asname)
        elif isinstance(node, ast.ImportFrom):
            from_monkey = (node.module or "").split(".")[-1] == "monkey"
            for a in node.names:
                name = a.asname or a.name
                if a.name == "monkey":
                    monkeys.add(name)
                elif a.name == "monkey_patch" or (from_monkey and a.name.startswith("patch")):
                    patchers.add(name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = dotted(node.func)
        if not parts:
            continue
        if parts[-1] in patchers:
            return True
        if len(parts) >= 2 and parts[-2] in monkeys and parts[-1].startswith("patch"):
            return True
    return False


class MonkeyPatching(Exception):
    pass


def libraries(project, entries, main=None):
    """The libraries that the entry files, and the project modules they import, import:
    [(module, fromnames)] in the order found. main is the entry that runs as __main__."""
    found, seen_libs = [], set()
    queue, scanned = list(entries), set()
    while queue and len(scanned) < MAX_SCANNED:
        path = queue.pop(0)
        if path in scanned:
            continue
        scanned.add(path)
        try:
            imps = imports_of(path, path == main)
        except MonkeyPatching:
            raise
        except (OSError, SyntaxError, ValueError):
            continue
        for name, level, fromnames in imps:
            if level > 0:
                base = os.path.dirname(path)
                for _ in range(level - 1):
                    base = os.path.dirname(base)
                for sub in [name] if name else fromnames:
                    f = project.local_file(sub, base) if sub else None
                    if f:
                        queue.append(f)
                continue
            origin = top_origin(name)
            if origin is None:
                continue
            if origin not in ("built-in", "frozen") and project.owns(origin):
                f = project.local_file(name)
                if f:
                    queue.append(f)
                for sub in fromnames:
                    f = project.local_file(name + "." + sub)
                    if f:
                        queue.append(f)
                continue
            if (name, fromnames) not in seen_libs:
                seen_libs.add((name, fromnames))
                found.append((name, fromnames))
    return found


class Forked(Exception):
    pass


def preload(libs):
    """Imports libs, skipping any that fails: the app reports that itself when it runs.
    A library that forks when imported makes a copy of this standby: the copy exits
    at once, quietly (it must not also wait for the go), and the standby raises
    Forked, to leave the start to the interpreter."""
    import importlib

    me = os.getpid()
    for name, fromnames in libs:
        preload_one(importlib, name, fromnames)
        if os.getpid() != me:
            os._exit(0)  # the copy: what the library's fork started has run
        if forked[0]:
            raise Forked(name)


forked = [False]
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=lambda: forked.__setitem__(0, True))


def preload_one(importlib, name, fromnames):
    try:
        mod = importlib.import_module(name)
        for sub in fromnames:
            if sub != "*" and not hasattr(mod, sub):
                try:
                    importlib.import_module(name + "." + sub)
                except Exception:
                    pass
    except Exception:
        pass
    except SystemExit:
        pass


def flask_app_file(project, rest):
    """The file of the app that "flask --app X" (or FLASK_APP) names, when it is the
    project's own: "app", "app:create_app()", "pkg.module:app", "examples/flask/app"."""
    target = os.environ.get("FLASK_APP", "")
    for i, a in enumerate(rest):
        if a == "--app" and i + 1 < len(rest):
            target = rest[i + 1]
        elif a.startswith("--app="):
            target = a[len("--app="):]
    target = target.split(":")[0]
    if not target:
        for cand in ("wsgi.py", "app.py"):
            if os.path.isfile(cand):
                return os.path.abspath(cand)
        return None
    if "/" in target or target.endswith(".py"):
        p = target if target.endswith(".py") else target + ".py"
        if os.path.isfile(p):
            return os.path.abspath(p)
        p = os.path.join(target, "__init__.py")
        return os.path.abspath(p) if os.path.isfile(p) else None
    return project.local_file(target)


APP_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:.*)?$")


def app_arg_files(project, rest):
    """The project's files that a server's app arguments name: "main:app" for
    uvicorn, hypercorn and gunicorn, "mysite.asgi:application" for daphne, the
    module of "--factory pkg:create" (any word that is module[:attribute] and a
    file of the project; an option's value such as "debug" is not one)."""
    out = []
    for a in rest:
        if a.startswith("-") or not APP_ARG.match(a):
            continue
        f = project.local_file(a.split(":")[0])
        if f and project.owns(f) and f not in out:
            out.append(f)
    return out


def django_settings(paths):
    """The settings module a Django project runs with: DJANGO_SETTINGS_MODULE, or
    what an entry file (manage.py, wsgi.py, asgi.py) sets it to by default with
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings"); or None."""
    name = os.environ.get("DJANGO_SETTINGS_MODULE")
    if name:
        return name
    for path in paths:
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), path)
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and dotted(node.func)[-1:] == ["setdefault"] and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                    and node.args[0].value == "DJANGO_SETTINGS_MODULE"):
                return node.args[1].value
    return None


def settings_names(path, *names):
    """{name: value} of the top-level assignments NAME = "x" or NAME = ["x", ...]
    in a settings file, read without running it."""
    out = {}
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return out
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        key = node.targets[0].id
        if key not in names:
            continue
        v = node.value
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            out[key] = v.value
        elif isinstance(v, (ast.List, ast.Tuple)):
            out[key] = [e.value for e in v.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return out


# What Django's own start imports whatever the project, without settings.
DJANGO_FIRST = ["django.core.management", "django.urls", "django.core.handlers.wsgi", "django.utils.log",
                "django.views.generic.base", "django.db.migrations.executor"]


def django_libraries(project, entries, rest):
    """For a Django project (see django_settings): the project's settings and URL
    conf to scan (never to import), and the libraries to import first: Django's
    own start, the runserver command when it runs, and each app of
    INSTALLED_APPS that is not the project's own with its AppConfig module
    (an app whose import needs the app registry fails here and is imported by
    django.setup() as usual)."""
    name = django_settings(entries)
    if not name:
        return [], []
    files, first = [], [(m, ()) for m in DJANGO_FIRST]
    if "runserver" in rest:
        first.append(("django.core.management.commands.runserver", ()))
    settings = project.local_file(name)
    if not settings or not project.owns(settings):
        return files, first
    files.append(settings)
    found = settings_names(settings, "INSTALLED_APPS", "ROOT_URLCONF")
    urls = found.get("ROOT_URLCONF")
    if isinstance(urls, str) and project.local_file(urls):
        files.append(project.local_file(urls))
    apps = found.get("INSTALLED_APPS")
    for app in apps if isinstance(apps, list) else []:
        module = app.rsplit(".apps.", 1)[0] if ".apps." in app else app
        origin = top_origin(module)
        if origin is None or (origin not in ("built-in", "frozen") and project.owns(origin)):
            continue
        first += [(module, ()), (module + ".apps", ())]
    return files, first


class SourceOnly(__import__("importlib.machinery").machinery.SourceFileLoader):
    """Loads a project module from its source, never from a cached .pyc: the source
    is then opened (and its stat recorded, see Recorder) before it is read."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


class Recorder:
    """While on, records (mtime, size) of each project file opened for reading (a
    module's source, a file the settings read such as .env), stat'ed at the open,
    before it is read: a save after that changes what is recorded; and None for
    the files of a project module looked for and not found. Project modules are
    loaded through SourceOnly meanwhile."""

    def __init__(self, project):
        self.project, self.files, self.on = project, {}, False
        sys.addaudithook(self.hook)  # for good: an audit hook cannot be removed

    def find_spec(self, name, path=None, target=None):
        import importlib.machinery as m

        spec = m.PathFinder.find_spec(name, path)
        if spec is None and name not in sys.builtin_module_names:
            # One that appears by the go is imported then: "try: from .local import *".
            last = name.rpartition(".")[2]
            for d in [d for d in (sys.path if path is None else path) if isinstance(d, str)]:
                for f in (os.path.join(d, last + ".py"), os.path.join(d, last, "__init__.py")):
                    if self.project.owns(f):
                        self.files.setdefault(os.path.abspath(f), None)
        if spec is None or (type(spec.loader) is not m.SourceFileLoader or not spec.origin
                or not self.project.owns(spec.origin)):
            return None
        spec.loader = SourceOnly(spec.loader.name, spec.loader.path)
        return spec

    def hook(self, event, args):
        if not self.on or event != "open" or not isinstance(args[0], (str, bytes)):
            return
        path, mode, flags = os.path.abspath(os.fsdecode(args[0])), args[1], args[2]
        if (set(mode) & set("wax+")) if mode else (flags & (os.O_WRONLY | os.O_RDWR)):
            return
        if path not in self.files and self.project.owns(path):
            try:
                st = os.stat(path)
            except OSError:
                return
            self.files[path] = (st.st_mtime_ns, st.st_size)

    def __enter__(self):
        sys.meta_path.insert(0, self)
        self.on = True
        return self

    def __exit__(self, *exc):
        self.on = False
        sys.meta_path.remove(self)


class NotSetUp(Exception):
    pass


def django_setup(project, mode, target, rest):
    """For a Django project whose settings module is its own: imports the settings
    and populates the app registry (INSTALLED_APPS, their models, their ready())
    as django.setup() does, with the command line and DJANGO_SETTINGS_MODULE the
    app gets, and returns the project files read meanwhile with their stat (the
    go checks them: a save of settings.py or models.py starts cold). Logging is
    left to the app's own setup after the go. Returns None, having run nothing,
    when the project is not Django or the command line names its settings
    (--settings, --pythonpath). When a project app's AppConfig has a ready() of
    its own (it may start threads or connect), it stops before populating the
    registry: that runs after the go, once. Any error means the go must start
    cold (the app reports it as it would)."""
    if any(a.startswith(("--settings", "--pythonpath")) for a in rest):
        return None  # manage.py applies them itself, before the settings are read
    entries = entry_files(project, mode, target, rest)[0]
    name = django_settings(entries)
    if not name or not project.local_file(name) or not project.owns(project.local_file(name)):
        return None
    rec = Recorder(project)
    for path in entries:
        st = os.stat(path)
        rec.files[path] = (st.st_mtime_ns, st.st_size)
    env, argv = os.environ.get("DJANGO_SETTINGS_MODULE"), sys.argv
    os.environ["DJANGO_SETTINGS_MODULE"], sys.argv = name, [target] + rest
    try:
        with rec:
            from django.apps import AppConfig, apps
            from django.conf import settings

            for entry in settings.INSTALLED_APPS:
                ready = type(AppConfig.create(entry)).ready
                if ready is not AppConfig.ready and project.owns(ready.__code__.co_filename):
                    raise NotSetUp("%s's ready()" % entry)
            apps.populate(settings.INSTALLED_APPS)
            django_extras(project, settings, apps)
    except NotSetUp:
        pass  # the settings are read; the registry is populated after the go
    finally:
        sys.argv = argv
        if env is None:
            del os.environ["DJANGO_SETTINGS_MODULE"]
    return rec.files


def django_extras(project, settings, apps):
    """Imports the library modules a runserver start imports once the registry is
    ready: what the settings name (middleware, backends, storages) and the
    migrations and template tags of the apps that are not the project's."""
    import importlib
    import pkgutil

    names = []
    for key in ("MIDDLEWARE", "AUTHENTICATION_BACKENDS", "SESSION_ENGINE", "MESSAGE_STORAGE"):
        v = getattr(settings, key, None)
        names += [v] if isinstance(v, str) else list(v or [])
    names += [c.get("BACKEND") for c in settings.CACHES.values()] + [t.get("BACKEND") for t in settings.TEMPLATES]
    for app in apps.get_app_configs():
        if project.owns(app.path):
            continue
        for sub in ("migrations", "templatetags"):
            if os.path.isdir(os.path.join(app.path, sub)):
                names += ["%s.%s.%s" % (app.name, sub, m.name) for m in pkgutil.iter_modules([os.path.join(app.path, sub)])]
    for n in names:
        origin = top_origin(n) if isinstance(n, str) and n else None
        if origin is None or (origin not in ("built-in", "frozen") and project.owns(origin)):
            continue
        for mod in (n, n.rsplit(".", 1)[0]):
            try:
                importlib.import_module(mod)
                break
            except Exception:
                continue


# What a server imports once it runs, after its command line is read: its
# protocol and worker implementations ("auto" picks among those installed).
SERVER_EXTRAS = {
    "uvicorn": ["uvicorn.protocols.http.auto", "uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on",
                "uvicorn.loops.auto"],
    "gunicorn": ["gunicorn.workers.sync", "gunicorn.glogging"],
}


def server_libraries(project, mode, target):
    """The libraries a server run as -m TARGET (or by its console script) imports
    before the app: the imports at the top of its __main__ module (python -m
    gunicorn imports gunicorn.app.wsgiapp there; only gunicorn itself otherwise),
    read without running it, and its SERVER_EXTRAS."""
    name = target.split(".")[0] if mode == "m" else os.path.basename(target)
    out = [(m, ()) for m in SERVER_EXTRAS.get(name, [])] if mode == "m" or not project.owns(target) else []
    if mode != "m" or "." in target:
        return out
    origin = top_origin(target)
    if not origin or origin in ("built-in", "frozen") or project.owns(origin):
        return out  # the project's own -m module: entry_files scans it
    path = os.path.join(os.path.dirname(origin), "__main__.py") if origin.endswith("__init__.py") else origin
    try:
        imps = imports_of(path)
    except (MonkeyPatching, OSError, SyntaxError, ValueError):
        return out
    found = []
    for n, level, f in imps:
        if level == 0 and n:
            o = top_origin(n)
            if o and (o in ("built-in", "frozen") or not project.owns(o)):
                found.append((n, f))
        elif level == 1 and origin.endswith("__init__.py"):  # from .cli import main
            found.append((target + ("." + n if n else ""), f))
    return found + out


def entry_files(project, mode, target, rest):
    """The files whose imports are preloaded, and the libraries to import first."""
    if mode == "s":
        entries = [os.path.abspath(target)]
        if os.path.basename(target) == "flask":  # the flask console script
            f = flask_app_file(project, rest)
            if f and project.owns(f):
                entries.append(f)
        elif not project.owns(target):  # a server's console script: uvicorn, gunicorn
            entries.extend(app_arg_files(project, rest))
        return entries, []
    origin = top_origin(target)
    if origin is None:
        return [], []
    if origin not in ("built-in", "frozen") and project.owns(origin):
        f = project.local_file(target)
        return ([f] if f else []), []
    first = [(target, ())]
    entries = []
    if target.split(".")[0] == "flask":
        f = flask_app_file(project, rest)
        if f and project.owns(f):
            entries.append(f)
    else:  # python -m uvicorn main:app, -m gunicorn app:app, -m daphne ...
        entries.extend(app_arg_files(project, rest))
    return entries, first


def plan(project, mode, target, rest):
    """What the standby imports, in order: [(module, fromnames)]."""
    entries, first = entry_files(project, mode, target, rest)
    # The script, or the project's own -m module, runs as __main__.
    main_entry = entries[0] if entries and not first else None
    more, django_first = django_libraries(project, entries, rest)
    first, entries = first + django_first, entries + more
    first += server_libraries(project, mode, target)
    return first + libraries(project, entries, main_entry)


def snapshot():
    """(path, mtime, size) of every loaded module's file."""
    out = {}
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if isinstance(path, str) and path not in out:
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
    return out


def changed(snap):
    """A file of snap whose (mtime, size) is no longer what it records, or that
    exists where it records None; or None."""
    for path, was in snap.items():
        try:
            st = os.stat(path)
        except OSError:
            if was is None:
                continue
            return path
        if (st.st_mtime_ns, st.st_size) != was:
            return path
    return None


def wait_go(fd):
    while True:
        try:
            b = os.read(fd, 1)
        except InterruptedError:
            continue
        os.close(fd)
        return bool(b)


def cold(args, why):
    if why:
        sys.stderr.write("devcluster standby: %s; starting cold\n" % why)
        sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + args)


def main():
    go_fd = int(sys.argv[1])
    args = sys.argv[2:]
    os.set_inheritable(go_fd, False)
    mode, target, rest, why = parse(args)
    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and os.path.realpath(sys.path[0] or ".") == here:
        del sys.path[0]
    if mode == "s":
        sys.path.insert(0, os.path.dirname(os.path.realpath(target)))
    elif mode == "m":
        sys.path.insert(0, os.getcwd())
    snap, own = None, {}
    if mode:
        dirs = [os.getcwd()] + ([os.path.dirname(os.path.abspath(target))] if mode == "s" else [])
        project = Project(dirs)
        try:
            preload(plan(project, mode, target, rest))
        except MonkeyPatching as e:
            why = "%s monkey-patches, which must happen before any other import" % e.args[0]
            mode = None
        except Forked as e:
            why = "the library %s forks when imported" % e.args[0]
            mode = None
        if mode:
            me = os.getpid()
            try:
                own = django_setup(project, mode, target, rest) or {}
            except (Exception, SystemExit):
                mode, why = None, None  # a broken save: the cold start reports it
            if os.getpid() != me:
                os._exit(0)  # a copy forked by the app's setup
            if forked[0]:
                mode, why = None, "the Django setup forks"
        snap = snapshot()
        snap.update(own)  # stat'ed before they were read
    try:
        os.write(go_fd, b"R")
    except OSError:
        pass  # devcluster closed its end: after a go (still to be read) or to drop us
    if not wait_go(go_fd):
        sys.exit(0)
    if not mode:
        cold(args, why)
    path = changed(snap)
    if path in own:
        cold(args, None)  # the app's own file: its new code, as a cold start runs it
    if path:
        cold(args, "%s changed since the standby imported it" % path)
    sys.argv = [target] + rest
    try:
        run(mode, target)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as e:
        report(e)
        sys.exit(1)


def run(mode, target):
    """Runs the app as the interpreter would have: in a fresh __main__ module, a
    script compiled under its absolute path, a module through runpy as -m does."""
    import builtins
    import types

    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    if mode == "m":
        import runpy

        run_as_main = getattr(runpy, "_run_module_as_main", None)
        if run_as_main is not None:
            run_as_main(target)
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        return
    import importlib.machinery

    path = os.path.abspath(target)
    main.__file__ = path
    main.__cached__ = None
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    exec(code, main.__dict__)


def report(e):
    """Prints e as the interpreter would for the app run cold: without this file's
    frames, so that a broken save prints the same traceback from a standby as from
    a cold start (and devcluster shows a repeated one once)."""
    ours = os.path.realpath(__file__)
    tb = e.__traceback__
    while tb is not None and os.path.realpath(tb.tb_frame.f_code.co_filename) == ours:
        tb = tb.tb_next
    sys.excepthook(type(e), e.with_traceback(tb), tb)


if __name__ == "__main__":
    main()
