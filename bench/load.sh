#!/usr/bin/env bash
# bench/load.sh — devcluster load against wrk, side by side, on the same backend.
#
# Starts bench/backend (the tiny Go server) on loopback and, ROUNDS times in alternation,
# measures it with `wrk -tTHREADS -cCONNS -dDURATION --latency` and with
# `devcluster load -c CONNS -d DURATION --json` (the same connections, keep-alive both).
# Prints each run, then the medians of requests/s and p50 latency, and the ratios
# devcluster load / wrk. Issue 24's target: requests/s ≥ 0.9× wrk's and p50 within 10%.
# The machine is shared and noisy: compare the ratios of one run, never figures across runs.
#
# Settings (environment): ROUNDS=5, DURATION=5s, CONNS=50, THREADS=2 (wrk -t; devcluster
#   load uses every CPU, as Go does), MODE=keepalive or close (the backend answers
#   Connection: close, so every request is a new connection for both).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
MODE=${MODE:-keepalive}
KEEP=${KEEP:-}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'load-bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

case $MODE in keepalive | close) ;; *) die "MODE must be keepalive or close, not \"$MODE\"" ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not \"$ROUNDS\""
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive number, not \"$CONNS\""
[[ $THREADS =~ ^[1-9][0-9]?$ ]] || die "THREADS must be a small positive number, not \"$THREADS\""
command -v wrk >/dev/null || die "wrk is missing: sudo apt-get install wrk"
command -v go >/dev/null || die "go is missing: install Go 1.26 to build devcluster"
command -v ss >/dev/null || die "ss is missing: sudo apt-get install iproute2"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-loadbench.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"

port=
for try in 17001 17101 17201 17301 17401; do
	if ! port_busy "$try"; then port=$try; break; fi
done
[[ -n $port ]] || die "no free port among 17001 17101 17201 17301 17401"
ports=("$port")

say "building bench/backend and devcluster into $tmp"
(cd "$repo" && go build -o "$tmp/backend" ./bench/backend) || die "bench/backend does not build"
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster) || die "cmd/devcluster does not build"

close_flag=()
[[ $MODE == close ]] && close_flag=(-close)
"$tmp/backend" -addr "127.0.0.1:$port" "${close_flag[@]}" >"$tmp/backend.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 10))
until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
	((SECONDS < deadline)) || die "bench/backend did not answer on port $port within 10 s"
	sleep 0.05
done
url="http://127.0.0.1:$port/"

# wrk's "50%" line and its Requests/sec, as "RPS P50_MS".
run_wrk() {
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$tmp/wrk.txt" 2>&1
	python3 - "$tmp/wrk.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
m = re.search(r"^\s+50%\s+([0-9.]+)(us|ms|s)\s*$", t, re.M)
scale = {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errs = re.search(r"Socket errors:.*", t)
print("%.0f %.3f %s" % (rps, float(m.group(1)) * scale, "errors:" + errs.group(0).replace(" ", "_") if errs else "ok"))
EOF
}

run_load() {
	local ka=true
	[[ $MODE == close ]] && ka=false
	"$tmp/devcluster" load "$url" -c "$CONNS" -d "$DURATION" --keepalive="$ka" --json >"$tmp/load.json" 2>"$tmp/load.err" || true
	python3 - "$tmp/load.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f %.3f %s" % (r["requests"] / r["elapsed_seconds"], r["latency"]["p50"] * 1000, "ok" if r["failed"] == 0 else "failed:%d" % r["failed"]))
EOF
}

wrk_rps=() wrk_p50=() load_rps=() load_p50=()
for ((r = 1; r <= ROUNDS; r++)); do
	# alternate which goes first, so that neither always gets the quieter half
	if ((r % 2)); then order=(wrk load); else order=(load wrk); fi
	for tool in "${order[@]}"; do
		read -r rps p50 note < <("run_$tool")
		printf '  round %d  %-15s %9s req/s  p50 %7s ms  %s\n' "$r" "$tool" "$rps" "$p50" "$note"
		if [[ $tool == wrk ]]; then wrk_rps+=("$rps") wrk_p50+=("$p50"); else load_rps+=("$rps") load_p50+=("$p50"); fi
	done
done

python3 - "${wrk_rps[*]}" "${wrk_p50[*]}" "${load_rps[*]}" "${load_p50[*]}" "$CONNS" "$THREADS" "$MODE" <<'EOF'
import statistics, sys
wr, wp, lr, lp = (list(map(float, a.split())) for a in sys.argv[1:5])
m = statistics.median
print()
print("medians over %d rounds, %s connections, %s, wrk -t%s:" % (len(wr), sys.argv[5], sys.argv[7], sys.argv[6]))
print("  %-16s %10s %10s" % ("", "req/s", "p50 ms"))
print("  %-16s %10.0f %10.3f" % ("wrk", m(wr), m(wp)))
print("  %-16s %10.0f %10.3f" % ("devcluster load", m(lr), m(lp)))
print("  load / wrk: req/s %.2f×, p50 %.2f×  (target: req/s ≥ 0.90×, p50 within 10%%)" % (m(lr) / m(wr), m(lp) / m(wp)))
EOF
