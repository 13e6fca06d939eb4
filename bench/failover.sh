#!/usr/bin/env bash
# bench/failover.sh — kill -9 one of three instances under load: no request may fail.
#
# Runs `devcluster up -m web=3` (loopback, free high ports) with three instances of the Go
# backend (bench/backend), drives `wrk -t1 -cCONNS -dDURATION` through the proxy, and after
# KILL_AFTER seconds kill -9s web.2's process (found by the port it listens on). The proxy
# must send the requests that could not reach the dead instance to the others: wrk must
# report no socket error and no non-2xx/3xx response, except in MODE=close for the requests
# web.2 had already received when it died (at most CONNS): those get 502 and are not
# replayed, by the retry rule (proxy/retry.go), since a request that may have crashed its
# instance must not crash the others. Exit status 0 when so, 1 otherwise.
# It also reports whether devcluster restarted web.2 (new pid answering on its port).
#
# Settings (environment): CONNS=50, DURATION=10s, KILL_AFTER=3 (seconds),
#   MODE=keepalive or close (backends answer Connection: close, as Flask does).
set -euo pipefail

CONNS=${CONNS:-50}
DURATION=${DURATION:-10s}
KILL_AFTER=${KILL_AFTER:-3}
MODE=${MODE:-keepalive}
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'failover: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

case $MODE in keepalive | close) ;; *) die "MODE must be keepalive or close, not \"$MODE\"" ;; esac
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive number, not \"$CONNS\""
[[ $KILL_AFTER =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "KILL_AFTER must be a number of seconds, not \"$KILL_AFTER\""
command -v wrk >/dev/null || die "wrk is missing: sudo apt-get install wrk"
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-failover.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

base=
for try in 19500 19600 19700 19800 19900; do
	ok=1
	for p in "$try" $((try + 1)) $((try + 2)) $((try + 90)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block in 19500-19999 (each needs N..N+2 and N+90)"
listen_port=$((base + 90))
ports=("$base" $((base + 1)) $((base + 2)) "$listen_port")

say "building devcluster and bench/backend into $tmp"
(cd "$repo" && go build -o "$tmp/backend" ./bench/backend) || die "bench/backend does not build"
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) 2>"$tmp/build.log" || {
	sed 's/^/    /' "$tmp/build.log" | head -15 >&2
	die "cmd/devcluster does not build; nothing measured"
}

mkdir -p "$tmp/app"
close_flag=
[[ $MODE == close ]] && close_flag=" -close"
printf 'web: %s -addr 127.0.0.1:$PORT%s\n' "$tmp/backend" "$close_flag" >"$tmp/app/Procfile"

say "starting: devcluster up -m web=3 --no-watch --listen 127.0.0.1:$listen_port --port $base"
(cd "$tmp/app" && exec "$tmp/devcluster" up -f Procfile -m web=3 --no-watch --listen "127.0.0.1:$listen_port" --port "$base") \
	>"$tmp/devcluster.out" 2>"$tmp/devcluster.err" &
pids+=($!)
dc_pid=$!

show_devcluster_log() {
	say "devcluster's last output lines:"
	tail -n 15 "$tmp/devcluster.err" "$tmp/devcluster.out" >&2 || true
}

# Ready: every instance and the proxy answer.
deadline=$((SECONDS + 30))
for p in "${ports[@]}"; do
	until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; do
		kill -0 "$dc_pid" 2>/dev/null || { show_devcluster_log; die "devcluster exited before the cluster was ready"; }
		((SECONDS < deadline)) || { show_devcluster_log; die "port $p did not answer within 30 s"; }
		sleep 0.05
	done
done
victim_port=$((base + 1))
victim=$(holder "$victim_port")
[[ -n $victim ]] || die "cannot find the pid listening on port $victim_port (web.2)"
say "cluster ready; web.2 is pid $victim on port $victim_port"

say "load: wrk -t1 -c$CONNS -d$DURATION http://127.0.0.1:$listen_port/ ; kill -9 web.2 after ${KILL_AFTER}s"
wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$listen_port/" >"$tmp/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep "$KILL_AFTER" # a fixed point in the load run, not a wait for a condition
kill -KILL "$victim"
say "killed web.2 (pid $victim) with SIGKILL"

# Did devcluster bring web.2 back? (poll its port for a new pid, up to 15 s)
restarted=
deadline=$((SECONDS + 15))
while ((SECONDS < deadline)); do
	now=$(holder "$victim_port")
	if [[ -n $now && $now != "$victim" ]] && curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$victim_port/"; then
		restarted=$now
		break
	fi
	sleep 0.1
done

wait "$wrk_pid" || true
cat "$tmp/wrk.txt"
echo
if [[ -n $restarted ]]; then
	echo "web.2 restarted by devcluster: new pid $restarted answers on port $victim_port"
else
	echo "web.2 was NOT restarted within 15 s of the kill"
fi

non2xx=$(grep -o 'Non-2xx or 3xx responses: *[0-9]*' "$tmp/wrk.txt" | grep -o '[0-9]*$' || true)
sock=$(grep -o 'Socket errors:.*' "$tmp/wrk.txt" || true)
requests=$(grep -o '[0-9]* requests in' "$tmp/wrk.txt" | grep -o '^[0-9]*' || true)
[[ -n $requests ]] || { show_devcluster_log; die "could not read wrk's output"; }
allowed=0
[[ $MODE == close ]] && allowed=$CONNS # in flight on web.2 at the kill: 502, not replayed
if ((${non2xx:-0} <= allowed)) && [[ -z $sock && -n $restarted ]]; then
	echo "PASS: $requests requests, ${non2xx:-0} non-2xx/3xx responses (allowed: $allowed in flight at the kill), 0 socket errors while web.2 was killed"
	exit 0
fi
echo "FAIL: $requests requests, non-2xx/3xx responses: ${non2xx:-0}; ${sock:-no socket errors}${restarted:+}${restarted:-; web.2 not restarted}"
show_devcluster_log
exit 1
