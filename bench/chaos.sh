#!/usr/bin/env bash
# bench/chaos.sh — the long chaos soak: survive every fault, lose no request, prove it.
#
# Builds devcluster and bench/chaos, copies examples/flask into a temp dir and runs
#   devcluster up -f Procfile -m web=3 --port B --listen 127.0.0.1:B+10
# there (loopback, free ports in 26000-26990), with CLIENTS keep-alive clients looping
# on GET / through the proxy for at least DURATION and at least REQUESTS requests, while
# a chaos loop, one action at a time and at random: SIGKILLs an instance, pauses one for
# 2-5 s (SIGSTOP/SIGCONT of its process group), saves app.py with a new VERSION (a
# reload), scales web between 2 and 5, and restarts one with `devcluster restart`.
#
# It prints every request counted: sent, 2xx, the 502s of requests in flight on a killed
# instance ("caught by a kill": the proxy never replays a request that may have reached
# the app), the responses whose head came from a killed instance but not their body ("cut
# by a kill"), the 5xx of requests held by a paused instance ("caught by a pause"), every
# other non-2xx, transport errors, and latency p50/p99/max; then the actions done and how
# the cluster stopped on SIGINT (every process gone, every port free). Exit status 0 when
# the target is met (zero transport errors, zero other non-2xx, each action done, at
# least REQUESTS requests, a clean stop), 1 when it is missed, 2 when nothing could run.
#
# Settings (environment): DURATION=60s, CLIENTS=50, REQUESTS=100000, MAX_DURATION=300s
# (give up on REQUESTS after this long), SEED (replays the chaos loop's choices),
# ACTIONS=kill,pause,reload,scale,restart (a subset chases one failure), PYTHON=python3
# (the interpreter the Procfile names), STANDBY=1 (up --standby: warm standbys),
# UNREAD_STDOUT=1 (devcluster's stdout a pipe left unread until the stop, with
# --access-log: serving must not wait on it, and lines must have been dropped),
# KEEP=1 keeps the temp dir (devcluster's logs).
set -euo pipefail

DURATION=${DURATION:-60s}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-100000}
MAX_DURATION=${MAX_DURATION:-300s}
SEED=${SEED:-0}
ACTIONS=${ACTIONS:-kill,pause,reload,scale,restart}
PYTHON=${PYTHON:-python3}
STANDBY=${STANDBY:-}
UNREAD_STDOUT=${UNREAD_STDOUT:-}
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'chaos: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

seconds() { [[ $1 =~ ^[0-9]+$ ]] && echo "${1}s" || echo "$1"; }
DURATION=$(seconds "$DURATION")
MAX_DURATION=$(seconds "$MAX_DURATION")
[[ $DURATION =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)$ ]] || die "DURATION must be a duration like 60s or 2m, not \"$DURATION\""
[[ $MAX_DURATION =~ ^[0-9]+(\.[0-9]+)?(ms|s|m)$ ]] || die "MAX_DURATION must be a duration like 300s, not \"$MAX_DURATION\""
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "CLIENTS must be a positive number, not \"$CLIENTS\""
[[ $REQUESTS =~ ^[0-9]+$ ]] || die "REQUESTS must be a number, not \"$REQUESTS\""
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be a number, not \"$SEED\""
[[ -z $STANDBY || $STANDBY == 1 ]] || die "STANDBY must be 1 or empty, not \"$STANDBY\""
[[ -z $UNREAD_STDOUT || $UNREAD_STDOUT == 1 ]] || die "UNREAD_STDOUT must be 1 or empty, not \"$UNREAD_STDOUT\""
[[ $ACTIONS =~ ^(kill|pause|reload|scale|restart)(,(kill|pause|reload|scale|restart))*$ ]] ||
	die "ACTIONS must be a comma-separated list of kill, pause, reload, scale, restart; not \"$ACTIONS\""
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"
"$PYTHON" -c 'import flask' 2>/dev/null ||
	die "$PYTHON cannot import flask: $PYTHON -m pip install flask (or sudo apt-get install python3-flask)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-chaos.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

# web.1-web.5 on B..B+4 (scaling goes up to 5), the proxy on B+10.
base=
for try in $(seq 26000 20 26980); do
	ok=1
	for p in "$try" $((try + 1)) $((try + 2)) $((try + 3)) $((try + 4)) $((try + 10)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block in 26000-26999 (each needs B..B+4 and B+10)"
listen_port=$((base + 10))
ports=("$base" $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) "$listen_port")

say "building devcluster and bench/chaos into $tmp"
(cd "$repo" && go build -o "$tmp/chaos" ./bench/chaos) || die "bench/chaos does not build"
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) 2>"$tmp/build.log" || {
	sed 's/^/    /' "$tmp/build.log" | head -15 >&2
	die "cmd/devcluster does not build; nothing measured"
}

mkdir -p "$tmp/soak"
say "soak: CLIENTS=$CLIENTS DURATION=$DURATION REQUESTS=$REQUESTS (at most $MAX_DURATION) ACTIONS=$ACTIONS STANDBY=$STANDBY UNREAD_STDOUT=$UNREAD_STDOUT, ports $base-$((base + 4)), proxy $listen_port"
"$tmp/chaos" -devcluster "$tmp/devcluster" -app "$repo/examples/flask/app.py" -workdir "$tmp/soak" \
	-python "$PYTHON" -port "$base" -listen "$listen_port" -clients "$CLIENTS" \
	-duration "$DURATION" -requests "$REQUESTS" -max-duration "$MAX_DURATION" -seed "$SEED" -actions "$ACTIONS" \
	${STANDBY:+-standby} ${UNREAD_STDOUT:+-unread-stdout} &
pids+=($!)
rc=0
wait "$!" || rc=$?
pids=()
if ((rc == 1)); then say "target missed; devcluster's logs: $tmp/soak/devcluster.err (KEEP=1 keeps them)"; fi
exit "$rc"
