#!/usr/bin/env bash
# bench/hung.sh — how fast a hung Flask instance leaves rotation (issue 25: ≤ 1.5 s).
#
# Runs `devcluster up -m web=3` with the Flask example (examples/flask, the development
# server) on loopback, drives a light closed loop through the proxy (wrk -t1 -cCONNS), and
# ROUNDS times SIGSTOPs web.2's process (a debugger breakpoint, a deadlock: the kernel still
# completes TCP handshakes), waits until `devcluster ps --json` says the balancer took it out
# (state "down"), and SIGCONTs it, waiting until it is back in rotation before the next
# round. The figure per round is the balancer's own timestamp of the state change
# (balancer.since) minus the time of the SIGSTOP. It prints each round, the median and the
# maximum, and wrk's totals. Exit status 0 when every round left rotation, 1 otherwise.
#
# Settings (environment): ROUNDS=5, CONNS=6, STALL= (proxy.stall_timeout, e.g. 2s for the
#   setting before issue 25; empty: the default).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-6}
STALL=${STALL:-}
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'hung: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not \"$ROUNDS\""
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive number, not \"$CONNS\""
command -v wrk >/dev/null || die "wrk is missing: sudo apt-get install wrk"
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"
python3 -c 'import flask' 2>/dev/null || die "python3 has no Flask: python3 -m pip install flask (or sudo apt-get install python3-flask)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-hung.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

base=
for try in 17500 17600 17700 17800 17900; do
	ok=1
	for p in "$try" $((try + 1)) $((try + 2)) $((try + 90)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block in 17500-17999 (each needs N..N+2 and N+90)"
listen_port=$((base + 90))
ports=("$base" $((base + 1)) $((base + 2)) "$listen_port")

say "building devcluster into $tmp"
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) 2>"$tmp/build.log" || {
	sed 's/^/    /' "$tmp/build.log" | head -15 >&2
	die "cmd/devcluster does not build; nothing measured"
}

mkdir -p "$tmp/app"
cp "$repo/examples/flask/app.py" "$tmp/app/app.py"
{
	echo "processes:"
	echo "  web:"
	echo "    command: python3 -m flask --app app run --no-reload --port \$PORT"
	echo "    instances: 3"
	if [[ -n $STALL ]]; then
		echo "proxy:"
		echo "  stall_timeout: $STALL"
	fi
} >"$tmp/app/devcluster.yaml"

dc() { (cd "$tmp/app" && "$tmp/devcluster" "$@"); }

say "starting: devcluster up --no-watch --listen 127.0.0.1:$listen_port --port $base${STALL:+ (stall_timeout $STALL)}"
(cd "$tmp/app" && exec "$tmp/devcluster" up --no-watch --listen "127.0.0.1:$listen_port" --port "$base") \
	>"$tmp/devcluster.out" 2>"$tmp/devcluster.err" &
pids+=($!)
dc_pid=$!

show_devcluster_log() {
	say "devcluster's last output lines:"
	tail -n 15 "$tmp/devcluster.err" "$tmp/devcluster.out" >&2 || true
}

# balancer_state NAME: NAME's balancer state and since (as Unix seconds), from ps --json.
balancer_state() {
	dc ps --json 2>/dev/null | python3 -c '
import datetime, json, sys
name = sys.argv[1]
for i in json.load(sys.stdin)["instances"]:
    if i["id"] == name and i.get("balancer"):
        b = i["balancer"]
        since = datetime.datetime.fromisoformat(b["since"].replace("Z", "+00:00")).timestamp()
        print(b["state"], "%.3f" % since)
' "$1" || true
}

# wait_state NAME STATE SECONDS: poll until NAME's balancer state is STATE.
wait_state() {
	local deadline=$((SECONDS + $3)) got
	while ((SECONDS < deadline)); do
		kill -0 "$dc_pid" 2>/dev/null || { show_devcluster_log; die "devcluster exited"; }
		got=$(balancer_state "$1")
		if [[ ${got%% *} == "$2" ]]; then
			echo "$got"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

for n in 1 2 3; do
	wait_state "web.$n" up 60 >/dev/null || { show_devcluster_log; die "web.$n not up within 60 s"; }
done
victim=$(holder $((base + 1)))
[[ -n $victim ]] || die "cannot find the pid listening on port $((base + 1)) (web.2)"
say "cluster ready; web.2 is pid $victim"

wrk -t1 -c"$CONNS" -d$((ROUNDS * 8 + 5))s "http://127.0.0.1:$listen_port/" >"$tmp/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1 # a fixed point in the load run (the loop is warm), not a wait for a condition

times=()
failed=0
for ((r = 1; r <= ROUNDS; r++)); do
	stopped_at=$(date +%s.%N)
	kill -STOP "$victim"
	if got=$(wait_state web.2 down 10); then
		t=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) - float(sys.argv[2])))" "${got#* }" "$stopped_at")
		times+=("$t")
		say "round $r: web.2 out of rotation ${t} s after SIGSTOP"
	else
		failed=$((failed + 1))
		say "round $r: web.2 still in rotation 10 s after SIGSTOP"
	fi
	kill -CONT "$victim"
	wait_state web.2 up 20 >/dev/null || { show_devcluster_log; die "web.2 not back in rotation 20 s after SIGCONT"; }
done
kill -INT "$wrk_pid" 2>/dev/null || true # wrk prints its totals on SIGINT
wait "$wrk_pid" 2>/dev/null || true
grep -E 'requests in|Non-2xx|Socket errors' "$tmp/wrk.txt" || true

if ((${#times[@]})); then
	python3 -c '
import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print("out of rotation after SIGSTOP: median %.2f s, max %.2f s over %d rounds (%s)" % (statistics.median(v), v[-1], len(v), " ".join("%.2f" % x for x in v)))
' "${times[@]}"
fi
((failed == 0))
