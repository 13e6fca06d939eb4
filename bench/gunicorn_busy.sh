#!/usr/bin/env bash
# bench/gunicorn_busy.sh — RELIABILITY.md's note on claim #3: single-worker gunicorn behind
# devcluster while every instance is busy with a long request (issue 21).
#
# Two instances of `gunicorn WORKER_ARGS app:app`, two 15-second requests (one per instance,
# round robin), then 20 quick requests one after another: prints the instances' balancer
# state, the quick requests' statuses and how long they took. Run it for each setting:
#
#   bench/gunicorn_busy.sh "-w 1"                 # a sync worker cannot answer the stall check
#   bench/gunicorn_busy.sh "-w 1 --threads 4"     # gthread: the check is answered while busy
#   STALL=off bench/gunicorn_busy.sh "-w 1"       # proxy.stall_timeout: off
#
# Loopback only, ports 5000-5001 and 28080; run it inside a private network namespace if
# other things use them (e.g. /work/bin/isolated). Needs gunicorn, curl and bc.
set -euo pipefail
args=${1:--w 1}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gunicorn=$(command -v gunicorn || echo /usr/bin/gunicorn)
(cd "$repo" && go build -o "$tmp/devcluster" ./cmd/devcluster)
cd "$tmp"
cat > app.py <<'PY'
import time
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(15)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
PY
{
	echo "processes:"
	echo "  web:"
	echo "    command: $gunicorn $args -b 127.0.0.1:\$PORT app:app"
	if [[ ${STALL:-} == off ]]; then
		echo "proxy:"
		echo "  stall_timeout: off"
	fi
} > devcluster.yaml
./devcluster up -m web=2 --listen 127.0.0.1:28080 --no-watch > up.log 2>&1 &
up=$!
for _ in $(seq 150); do curl -s -o /dev/null http://127.0.0.1:28080/ && break; sleep 0.2; done
sleep 2 # both instances checked and in rotation
curl -s -o /dev/null -m 30 http://127.0.0.1:28080/slow &
curl -s -o /dev/null -m 30 http://127.0.0.1:28080/slow &
sleep 5 # past stall_timeout (2 s) and the check that confirms it
./devcluster ps | awk '{print $1, $5, $6}'
ok=0 other=0 codes=""
t0=$(date +%s.%N)
for _ in $(seq 20); do
	c=$(curl -s -o /dev/null -w '%{http_code}' -m 20 http://127.0.0.1:28080/)
	codes="$codes $c"
	if [[ $c == 200 ]]; then ok=$((ok + 1)); else other=$((other + 1)); fi
done
echo "gunicorn $args${STALL:+, stall_timeout $STALL}: 20 quick requests while both instances were busy: $ok 200, $other other ($codes ) in $(echo "$(date +%s.%N) - $t0" | bc) s"
grep -E ' is (DOWN|UP)' up.log || true
wait %2 %3 2> /dev/null || true
./devcluster down > /dev/null 2>&1 || true
wait $up || true
