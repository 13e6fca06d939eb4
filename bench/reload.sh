#!/usr/bin/env bash
# bench/reload.sh — reload latency: save a file → every instance serves the new code.
#
# Builds devcluster, copies the app of SERVER (examples/flask, examples/fastapi, or a fresh
# `django-admin startproject` with one view) into a temp dir, writes a devcluster.yaml there
# with INSTANCES instances of web (and reload: {max_unavailable: MAX_UNAVAILABLE} when
# MAX_UNAVAILABLE is given) and runs
#   devcluster up -f devcluster.yaml --listen 127.0.0.1:L --port B
# (loopback, free high ports). When all instances answer, it RUNS times rewrites the line
# `VERSION = "v1"` of app.py to "vK" and measures, from the write:
#   first   until the first instance (the canary) answers vK on its own port
#   direct  until every instance answers vK on its own port
#   all     until, in addition, vK has come through the proxy from every instance
#           (told apart by X-Devcluster-Instance): the figure the README quotes
# and counts requests through the proxy that failed meanwhile (a reload should cause none).
# With STANDBY=1 each save waits until every instance has a warm standby again (ps --json:
# standby_pid), as between two saves of someone editing. It prints every run and the
# medians, the server's cold start (process start → / answers) for comparison, since the
# roll restarts the instances in waves of max_unavailable, and the load average.
#
# Per run it also shows, for each instance, when it stopped answering on its port (down) and
# when it answered the new version (up): up - down is its restart, the gaps are the roll.
#
# Settings (environment):
#   SERVER=flask       flask (python -m flask run), gunicorn (examples/flask under one sync
#                      worker), uvicorn (examples/fastapi), django (startproject + runserver)
#   INSTANCES=3        instances of web (1-50)
#   MAX_UNAVAILABLE=   web's reload.max_unavailable, a number or a percentage (2, 50%);
#                      empty: not written, devcluster's default (1, one at a time)
#   MAX_SURGE=         web's reload.max_surge, likewise (default 0)
#   STANDBY=           1: web's reload.standby: true (a warm standby per instance: the
#                      next start skips Python's start and the framework's import); empty: off
#   RUNS=7             saves measured
#   TARGET=            seconds: exit 1 when the median "all" is above it (0.8 for 3 instances
#                      with max_unavailable 1, 1.0 for 8 with a larger one: issue 11)
#   PYTHON=python3     (/usr/bin/python3 for gunicorn, uvicorn, django: Debian's) the interpreter the instances run with, written into the manifest as
#                      given, the way a user writes it (devcluster resolves a pyenv shim once
#                      at start)
#   PORT_BASES="18500 18600 ..."  the first ports of the blocks tried
#   DEVCLUSTER=        a devcluster binary to measure instead of building this checkout's
#                      (to compare two builds on the same machine, one run after the other)
#   KEEP=1             keep the temp dir (manifest, devcluster's output)
# Exit status: 0 when no request through the proxy failed (and the median met TARGET).
set -euo pipefail

RUNS=${RUNS:-7}
SERVER=${SERVER:-flask}
INSTANCES=${INSTANCES:-3}
MAX_UNAVAILABLE=${MAX_UNAVAILABLE:-}
MAX_SURGE=${MAX_SURGE:-}
STANDBY=${STANDBY:-}
TARGET=${TARGET:-}
case $SERVER in
flask) PYTHON=${PYTHON:-python3} need=flask ;;
gunicorn) PYTHON=${PYTHON:-/usr/bin/python3} need=gunicorn ;;
uvicorn) PYTHON=${PYTHON:-/usr/bin/python3} need=fastapi,uvicorn ;;
django) PYTHON=${PYTHON:-/usr/bin/python3} need=django ;;
*) printf 'reload: SERVER must be flask, gunicorn, uvicorn or django, not "%s"\n' "$SERVER" >&2; exit 1 ;;
esac
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'reload: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not \"$RUNS\""
[[ $INSTANCES =~ ^[1-9][0-9]*$ ]] && ((INSTANCES <= 50)) ||
	die "INSTANCES must be a number from 1 to 50, not \"$INSTANCES\""
for v in MAX_UNAVAILABLE MAX_SURGE; do
	[[ -z ${!v} || ${!v} =~ ^[0-9]+%?$ ]] || die "$v must be a number (2) or a percentage (50%), not \"${!v}\""
done
[[ -z $STANDBY || $STANDBY == 1 ]] || die "STANDBY must be 1 or empty, not \"$STANDBY\""
[[ -z $TARGET || $TARGET =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "TARGET must be seconds like 0.8, not \"$TARGET\""
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"
"$PYTHON" -c "import $need" 2>/dev/null ||
	die "$PYTHON cannot import $need: $PYTHON -m pip install ${need//,/ } (or sudo apt-get install python3-${need//,/ python3-})"
# The Procfile names the interpreter as the user gave it; the cold-start comparison below
# runs the interpreter itself, not a wrapper such as a pyenv shim.
PYTHON_CMD=$PYTHON
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-reload.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

# A block of ports: web.1..web.N on B..B+N-1, the proxy on B+90, the cold-start probe on B+95.
base=
for try in ${PORT_BASES:-18500 18600 18700 18800 18900 19000 19100 19200}; do
	ok=1
	for p in $(seq "$try" $((try + INSTANCES - 1))) $((try + 90)) $((try + 95)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block at ${PORT_BASES:-18500-19200} (each needs N..N+$((INSTANCES - 1)), N+90 and N+95)"
listen_port=$((base + 90))
cold_port=$((base + 95))
ports=($(seq "$base" $((base + INSTANCES - 1))) "$listen_port" "$cold_port")

if [[ -n ${DEVCLUSTER:-} ]]; then
	say "using $DEVCLUSTER"
	cp "$DEVCLUSTER" "$tmp/devcluster"
else
	say "building devcluster into $tmp"
	(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) 2>"$tmp/build.log" || {
		sed 's/^/    /' "$tmp/build.log" | head -15 >&2
		die "cmd/devcluster does not build; nothing measured"
	}
fi

mkdir -p "$tmp/app"
app_file=$tmp/app/app.py
case $SERVER in
flask | gunicorn) cp "$repo/examples/flask/app.py" "$app_file" ;;
uvicorn) app_file=$tmp/app/main.py; cp "$repo/examples/fastapi/main.py" "$app_file" ;;
django)
	(cd "$tmp/app" && "$PYTHON" -m django startproject mysite .) || die "django-admin startproject failed"
	app_file=$tmp/app/mysite/views.py
	cat >"$app_file" <<'DJ'
from django.http import JsonResponse
import os

VERSION = "v1"


def index(request):
    return JsonResponse({"instance": os.environ.get("PS", "?"), "version": VERSION})
DJ
	printf '\nfrom django.urls import path as _path\nfrom . import views\nurlpatterns += [_path("", views.index)]\n' >>"$tmp/app/mysite/urls.py"
	;;
esac
grep -qx 'VERSION = "v1"' "$app_file" || die "$app_file has no line VERSION = \"v1\""
case $SERVER in
flask) cmd="$PYTHON_CMD -m flask --app app run --no-reload --port \$PORT" ;;
gunicorn) cmd="$PYTHON_CMD -m gunicorn --bind 127.0.0.1:\$PORT --workers 1 app:app" ;;
uvicorn) cmd="$PYTHON_CMD -m uvicorn main:app --host 127.0.0.1 --port \$PORT" ;;
django) cmd="$PYTHON_CMD manage.py runserver --noreload 127.0.0.1:\$PORT" ;;
esac
reload=
if [[ -n $MAX_UNAVAILABLE$MAX_SURGE$STANDBY ]]; then
	keys=()
	[[ -z $MAX_UNAVAILABLE ]] || keys+=("max_unavailable: $MAX_UNAVAILABLE")
	[[ -z $MAX_SURGE ]] || keys+=("max_surge: $MAX_SURGE")
	[[ -z $STANDBY ]] || keys+=("standby: true")
	reload="    reload: {$(IFS=,; echo "${keys[*]}" | sed 's/,/, /g')}"
fi
{
	printf 'processes:\n  web:\n'
	printf '    command: %s\n' "$cmd"
	printf '    instances: %d\n' "$INSTANCES"
	[[ -z $reload ]] || printf '%s\n' "$reload"
} >"$tmp/app/devcluster.yaml"
say "devcluster.yaml:"
sed 's/^/    /' "$tmp/app/devcluster.yaml" >&2

# The server's cold start, for comparison: three times, process start → / answers.
say "measuring $SERVER's cold start (3 times)"
"$PYTHON" - "$tmp/app" "$cold_port" "$cmd" >"$tmp/cold.txt" <<'PY'
import os, socket, statistics, subprocess, sys, time, urllib.request
app, port, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
times = []
for _ in range(3):
    t0 = time.monotonic()
    p = subprocess.Popen(["sh", "-c", "exec " + cmd], cwd=app, env=dict(os.environ, PORT=str(port)),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = t0 + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1).read()
                times.append(time.monotonic() - t0)
                break
            except OSError:
                time.sleep(0.005)
    finally:
        os.killpg(p.pid, 15)
        p.wait(timeout=10)
print("%.3f" % statistics.median(times) if times else "n/a")
PY

say "starting: devcluster up -f devcluster.yaml --listen 127.0.0.1:$listen_port --port $base (in $tmp/app)"
(cd "$tmp/app" && exec "$tmp/devcluster" up -f devcluster.yaml --listen "127.0.0.1:$listen_port" --port "$base") \
	>"$tmp/devcluster.out" 2>"$tmp/devcluster.err" &
pids+=($!)
dc_pid=$!

set +e
"$PYTHON" - "$app_file" "$base" "$listen_port" "$RUNS" "$dc_pid" "$(cat "$tmp/cold.txt")" \
	"$INSTANCES" "${MAX_UNAVAILABLE:-1 (default)}" "$TARGET" "${STANDBY:+on}" "$SERVER" "$tmp/devcluster" \
	"$tmp/app/devcluster.yaml" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.error, urllib.request

app_py, base, listen, runs, dc_pid, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
n, max_unavailable, target, standby = int(sys.argv[7]), sys.argv[8], sys.argv[9], sys.argv[10] or "off"
server, devcluster, manifest = sys.argv[11], sys.argv[12], sys.argv[13]
ports = [base + i for i in range(n)]
ids = ["web.%d" % (i + 1) for i in range(n)]
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

def standbys_warm():
    """Whether every instance has a warm standby (ps --json: standby_pid)."""
    import subprocess
    try:
        out = subprocess.run([devcluster, "ps", "--json", "-f", manifest], capture_output=True, timeout=10).stdout
        insts = [i for i in json.loads(out).get("instances", []) if i.get("id") in ids]
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    return len(insts) == n and all(i.get("standby_pid", 0) > 0 for i in insts)

def via_proxy():
    """(instance, version) from one request through the proxy, or (None, error)."""
    try:
        with urllib.request.urlopen(proxy, timeout=5) as r:
            return r.headers.get("X-Devcluster-Instance"), json.load(r).get("version")
    except urllib.error.HTTPError as e:
        return None, "HTTP %d" % e.code
    except (OSError, ValueError, http.client.HTTPException) as e:
        return None, str(e)

# Wait for the cluster: every instance and the proxy answer v1.
deadline = time.monotonic() + 60
while True:
    if not alive():
        sys.exit("reload: devcluster exited before the cluster was ready (see its output below)")
    if all(version_at(p) == "v1" for p in ports) and via_proxy()[1] == "v1":
        break
    if time.monotonic() > deadline:
        sys.exit("reload: the cluster was not ready within 60 s")
    time.sleep(0.05)
print("reload: cluster ready: web.1-%d on ports %d-%d, proxy on 127.0.0.1:%d" % (n, ports[0], ports[-1], listen), file=sys.stderr)
time.sleep(1)  # let startup settle (watcher armed, health checks up)

src = open(app_py).read()
rows, failures_total = [], 0
for k in range(2, runs + 2):
    if standby == "on":  # measured with every standby warm, as on a machine at rest between saves
        deadline = time.monotonic() + 60
        while not standbys_warm() and time.monotonic() < deadline:
            time.sleep(0.1)
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
print("%s, %d instances, max_unavailable %s, standby %s: median of %d runs: first instance %.3f s, all %d direct %.3f s, "
      "all %d direct + via proxy %.3f s; failed requests via proxy: %d"
      % (server, n, max_unavailable, standby, len(rows), med[0], n, med[1], n, med[2], failures_total))
print("%s cold start (process start -> / answers), median of 3: %s s; load average %s"
      % (server, cold, " ".join(open("/proc/loadavg").read().split()[:3])))
missed = target != "" and med[2] > float(target)
if missed:
    print("median %.3f s is above TARGET %s s" % (med[2], target))
sys.exit(1 if failures_total or missed else 0)
PY
rc=$?
set -e
if ((rc != 0)); then
	say "devcluster's last output lines:"
	tail -n 20 "$tmp/devcluster.err" "$tmp/devcluster.out" >&2 || true
fi
exit "$rc"
