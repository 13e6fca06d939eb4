"""devcluster check's import check: what an instance's interpreter cannot import.

devcluster writes this file beside a copy of standby.py and runs it (nobody else
should) as

    PYTHON importcheck.py STANDBY_PY ARG...

with ARG... what the instance's command passes its interpreter, as for a standby. It
runs the standby's own import scan (standby.py: parse, entry_files, libraries), so
that check looks at exactly the imports a standby would preload, and records every
top-level module the scan cannot find on this interpreter's path. Nothing of the app
runs: the scan reads source files, it imports none of them. It prints one JSON object:
the interpreter's path, whether it is externally managed (Debian's: PEP 668), and
what is missing ("module" for -m MODULE, "script" for a script file, "import" for an
import statement, with its file and line).
"""

import ast
import importlib.util
import json
import os
import sys
import sysconfig

# Handlers that make a failed import harmless: "try: import ujson / except ImportError".
GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def load_standby(path):
    spec = importlib.util.spec_from_file_location("devcluster_standby", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def guards(handler):
    t = handler.type
    if t is None:
        return True
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return any(isinstance(n, ast.Name) and n.id in GUARDS for n in names)


def unguarded_line(path, top):
    """The line of the first import of top-level module top in path that no
    try/except ImportError guards, or None when every one is guarded."""
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(guards(h) for h in node.handlers):
            for stmt in node.body:
                guarded.update(id(n) for n in ast.walk(stmt))
    lines = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == top for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == top:
            lines.append(node.lineno)
    return min(lines) if lines else None


def scan(sb, args):
    """The missing modules of the command args, found by the standby's scan."""
    mode, target, rest, _ = sb.parse(args)
    if not mode:
        return []
    if mode == "s" and not os.path.isfile(target):
        return [{"kind": "script", "name": target}]
    # sys.path as standby.main sets it for the app.
    if mode == "s":
        sys.path.insert(0, os.path.dirname(os.path.realpath(target)))
    else:
        sys.path.insert(0, os.getcwd())
    current, misses = [None], []
    find, read = sb.top_origin, sb.imports_of

    def top_origin(name):
        origin = find(name)
        if origin is None:
            misses.append((current[0], name.split(".")[0]))
        return origin

    def imports_of(path, main=False):
        current[0] = path
        return read(path, main)

    sb.top_origin, sb.imports_of = top_origin, imports_of
    dirs = [os.getcwd()] + ([os.path.dirname(os.path.abspath(target))] if mode == "s" else [])
    project = sb.Project(dirs)
    entries, first = sb.entry_files(project, mode, target, rest)
    if mode == "m" and misses:
        return [{"kind": "module", "name": target}]
    try:
        sb.libraries(project, entries, entries[0] if entries and not first else None)
    except sb.MonkeyPatching:
        pass
    out, seen = [], set()
    for path, name in misses:
        if path is None or name in seen:
            continue
        line = unguarded_line(path, name)
        if line is None:
            continue
        seen.add(name)
        out.append({"kind": "import", "name": name, "file": path, "line": line})
    return out


def main():
    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and os.path.realpath(sys.path[0] or ".") == here:
        del sys.path[0]
    sb = load_standby(sys.argv[1])
    stdlib = sysconfig.get_path("stdlib") or ""
    result = {
        "python": sys.executable,
        "externally_managed": os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED")),
        "missing": scan(sb, sys.argv[2:]),
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
