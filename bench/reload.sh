#!/usr/bin/env bash
# bench/reload.sh — reload latency: save a file → every Flask instance serves the new code.
#
# Builds devcluster, copies examples/flask into a temp dir and runs
#   devcluster up -f Procfile -m web=3 --listen 127.0.0.1:L --port B
# there (loopback, free high ports). When all three instances answer, it RUNS times rewrites
# the line `VERSION = "v1"` of app.py to "vK" and measures, from the write:
#   first   until the first instance (the canary) answers vK on its own port
#   direct  until all three answer vK on their own ports
#   all     until, in addition, vK has come through the proxy from web.1, web.2 and web.3
#           (told apart by X-Devcluster-Instance)
# and counts requests through the proxy that failed meanwhile (a reload should cause none).
# It prints every run and the medians, and Flask's cold start (process start → port answers)
# for comparison, since the roll restarts three of them one after the other.
#
# Per run it also shows, for each instance, when it stopped answering on its port (down) and
# when it answered the new version (up): up - down is its restart, the gaps are the roll.
#
# Settings (environment): RUNS=7, PYTHON=python3 (the interpreter the instances run with,
# written into the Procfile as given, the way a user writes it; devcluster itself resolves a
# pyenv shim once at start).
set -euo pipefail

RUNS=${RUNS:-7}
PYTHON=${PYTHON:-python3}
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'reload: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not \"$RUNS\""
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"
"$PYTHON" -c 'import flask' 2>/dev/null ||
	die "$PYTHON cannot import flask: $PYTHON -m pip install flask (or sudo apt-get install python3-flask)"
# The Procfile names the interpreter as the user gave it; the cold-start comparison below
# runs the interpreter itself, not a wrapper such as a pyenv shim.
PYTHON_CMD=$PYTHON
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-reload.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

base=
for try in 18500 18600 18700 18800 18900 19000 19100 19200; do
	ok=1
	for p in "$try" $((try + 1)) $((try + 2)) $((try + 90)) $((try + 95)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block in 18500-19299 (each needs N..N+2, N+90 and N+95)"
listen_port=$((base + 90))
cold_port=$((base + 95))
ports=("$base" $((base + 1)) $((base + 2)) "$listen_port" "$cold_port")

say "building devcluster into $tmp"
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) 2>"$tmp/build.log" || {
	sed 's/^/    /' "$tmp/build.log" | head -15 >&2
	die "cmd/devcluster does not build; nothing measured"
}

mkdir -p "$tmp/app"
cp "$repo/examples/flask/app.py" "$tmp/app/app.py"
grep -qx 'VERSION = "v1"' "$tmp/app/app.py" || die "examples/flask/app.py has no line VERSION = \"v1\""
printf 'web: %s -m flask --app app run --no-reload --port $PORT\n' "$PYTHON_CMD" >"$tmp/app/Procfile"

# Flask's cold start, for comparison: three times, process start → port answers.
say "measuring Flask's cold start (3 times)"
"$PYTHON" - "$tmp/app" "$cold_port" "$PYTHON" >"$tmp/cold.txt" <<'PY'
import os, socket, statistics, subprocess, sys, time, urllib.request
app, port, python = sys.argv[1], int(sys.argv[2]), sys.argv[3]
times = []
for _ in range(3):
    t0 = time.monotonic()
    p = subprocess.Popen([python, "-m", "flask", "--app", "app", "run", "--no-reload", "--port", str(port)],
                         cwd=app, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = t0 + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
                times.append(time.monotonic() - t0)
                break
            except OSError:
                time.sleep(0.005)
    finally:
        p.terminate()
        p.wait(timeout=5)
print("%.3f" % statistics.median(times) if times else "n/a")
PY

say "starting: devcluster up -f Procfile -m web=3 --listen 127.0.0.1:$listen_port --port $base (in $tmp/app)"
(cd "$tmp/app" && exec "$tmp/devcluster" up -f Procfile -m web=3 --listen "127.0.0.1:$listen_port" --port "$base") \
	>"$tmp/devcluster.out" 2>"$tmp/devcluster.err" &
pids+=($!)
dc_pid=$!

set +e
"$PYTHON" - "$tmp/app/app.py" "$base" "$listen_port" "$RUNS" "$dc_pid" "$(cat "$tmp/cold.txt")" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.error, urllib.request

app_py, base, listen, runs, dc_pid, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
ports = [base, base + 1, base + 2]
ids = ["web.1", "web.2", "web.3"]
proxy = "http://127.0.0.1:%d/?format=json" % listen

def alive():
    try:
        os.kill(dc_pid, 0)
        return True
    except OSError:
        return False

def version_at(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/?format=json" % port, timeout=1) as r:
            return json.load(r).get("version")
    except (OSError, ValueError, http.client.HTTPException):
        # Asked directly (not through the proxy), an instance being stopped may
        # close the connection mid-answer: that counts as down.
        return None

def via_proxy():
    """(instance, version) from one request through the proxy, or (None, error)."""
    try:
        with urllib.request.urlopen(proxy, timeout=5) as r:
            return r.headers.get("X-Devcluster-Instance"), json.load(r).get("version")
    except urllib.error.HTTPError as e:
        return None, "HTTP %d" % e.code
    except (OSError, ValueError, http.client.HTTPException) as e:
        return None, str(e)

# Wait for the cluster: all three instances and the proxy answer v1.
deadline = time.monotonic() + 60
while True:
    if not alive():
        sys.exit("reload: devcluster exited before the cluster was ready (see its output below)")
    if all(version_at(p) == "v1" for p in ports) and via_proxy()[1] == "v1":
        break
    if time.monotonic() > deadline:
        sys.exit("reload: the cluster was not ready within 60 s")
    time.sleep(0.05)
print("reload: cluster ready: web.1-3 on ports %d-%d, proxy on 127.0.0.1:%d" % (ports[0], ports[2], listen), file=sys.stderr)
time.sleep(1)  # let startup settle (watcher armed, health checks up)

src = open(app_py).read()
rows, failures_total = [], 0
for k in range(2, runs + 2):
    old, new = 'VERSION = "v%d"' % (k - 1), 'VERSION = "v%d"' % k
    want = "v%d" % k
    src = src.replace(old, new, 1)
    t0 = time.monotonic()
    with open(app_py, "w") as f:  # a plain in-place save, as most editors do
        f.write(src)
    first = direct = None
    seen = {}
    down, up = {}, {}  # per instance: first time it did not answer, first time it answered the new version
    failures = 0
    deadline = t0 + 30
    while time.monotonic() < deadline:
        answers = [version_at(p) for p in ports]
        for i, a in enumerate(answers):
            if a is None and i not in down:
                down[i] = time.monotonic() - t0
            if a == want and i not in up:
                up[i] = time.monotonic() - t0
        done_direct = [a == want for a in answers]
        if first is None and any(done_direct):
            first = time.monotonic() - t0
        if direct is None and all(done_direct):
            direct = time.monotonic() - t0
        for _ in ids:  # round-robin: one request per instance
            inst, ver = via_proxy()
            if inst is None:
                failures += 1
            elif ver == want and inst not in seen:
                seen[inst] = time.monotonic() - t0
        if direct is not None and all(i in seen for i in ids):
            break
        time.sleep(0.01)
    else:
        sys.exit("reload: run %d: not every instance served %s within 30 s (direct done: %s, via proxy: %s)"
                 % (k - 1, want, direct is not None, sorted(seen)))
    total = max([direct] + list(seen.values()))
    failures_total += failures
    rows.append((first, direct, total))
    print("run %d  %-4s first %.3f s   direct %.3f s   all (direct + proxy) %.3f s   failed via proxy %d"
          % (k - 1, want, first, direct, total, failures))
    print("       " + "   ".join("%s down %s up %.2f" % (ids[i], "%.2f" % down[i] if i in down else "-", up[i])
                                for i in sorted(up, key=up.get)))
    time.sleep(1.0)  # quiet gap so that the next save is a batch of its own

med = [statistics.median(c) for c in zip(*rows)]
print()
print("median of %d runs: first instance %.3f s, all 3 direct %.3f s, all 3 direct + via proxy %.3f s; failed requests via proxy: %d"
      % (len(rows), med[0], med[1], med[2], failures_total))
print("Flask cold start (process start -> port answers), median of 3: %s s" % cold)
sys.exit(1 if failures_total else 0)
PY
rc=$?
set -e
if ((rc != 0)); then
	say "devcluster's last output lines:"
	tail -n 20 "$tmp/devcluster.err" "$tmp/devcluster.out" >&2 || true
fi
exit "$rc"
