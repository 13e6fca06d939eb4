#!/usr/bin/env bash
# bench/proxy.sh — devcluster's proxy against HAProxy and nginx, in front of the same backends.
#
# On loopback only: starts K=3 backends (a tiny Go server, or the Flask example with
# BACKEND=flask), then measures with wrk, in alternation for several rounds:
#   direct      straight to one backend (the limit: no proxy at all)
#   devcluster  devcluster's proxy, run standalone (bench/proxyserver)
#   haproxy     balance roundrobin, keep-alive and connection reuse to the servers
#   nginx       upstream with keepalive 64, proxy_http_version 1.1
# and prints the medians of requests/s, p50 and p99 latency, the proxy process's CPU time per
# request (utime+stime from /proc/PID/stat, children included), and the ratios to HAProxy.
#
# Settings (environment):
#   ROUNDS=5        rounds of the four measurements
#   DURATION=5s     wrk -d per measurement
#   CONNS=50        wrk -c (one wrk thread: -t1)
#   MODE=keepalive  or MODE=close: the Go backends answer "Connection: close", as Flask's
#                   development server does, so every request costs a new backend connection
#   BACKEND=go      or BACKEND=flask: three `python3 -m flask ... run --no-reload` instances
#   THREADS=        unset: each proxy's own default (HAProxy 2.x: one thread per CPU; nginx:
#                   worker_processes auto, one per CPU; devcluster: GOMAXPROCS = CPUs);
#                   THREADS=N sets all three to N
#   HEADERS=same    HAProxy and nginx add the headers devcluster's proxy adds by design
#                   (X-Forwarded-For, -Proto, -Host, X-Real-IP to the instance and
#                   X-Devcluster-Instance to the client), so that all three do the same work;
#                   HEADERS=minimal: HAProxy with only `option forwardfor`, nginx with
#                   X-Forwarded-For and X-Real-IP (less work than devcluster does)
#   ONREQUEST=1     devcluster's proxy with an OnRequest hook recording every request, as the
#                   dashboard's recorder does (bench/proxyserver -onrequest): the cost of the
#                   per-request accounting (issue 12)
#   PROFILE=1       write a CPU profile of devcluster's proxy to bench/out/proxy-*.pprof
#   KEEP=1          keep the temp dir (configs, logs, raw wrk output) and print its path
#   BASELINE=PATH   also measure another build of bench/proxyserver (e.g. main's:
#                   git worktree add /tmp/main main && go build -o /tmp/ps-main ./bench/proxyserver
#                   there), as the "baseline" column, in the same run: a before/after
#                   comparison that the machine's load changes less than two runs
#
# Installs nothing: if wrk is missing it stops, if haproxy or nginx is missing it says so
# (with the apt-get line) and measures the other columns.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
MODE=${MODE:-keepalive}
BACKEND=${BACKEND:-go}
THREADS=${THREADS:-}
HEADERS=${HEADERS:-same}
PROFILE=${PROFILE:-}
ONREQUEST=${ONREQUEST:-}
KEEP=${KEEP:-}
BASELINE=${BASELINE:-}
K=3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case $MODE in keepalive | close | tls | tls-close | h2) ;; *) die "MODE must be keepalive, close, tls, tls-close or h2, not \"$MODE\"" ;; esac
# TLS modes: the proxies terminate TLS with one certificate (made here by openssl),
# the backends keep their connections alive. tls: wrk keep-alive over TLS;
# tls-close: a new TLS connection (and handshake) per request; h2: h2load, HTTP/2.
tls=
case $MODE in tls | tls-close | h2) tls=1 ;; esac
H2_STREAMS=${H2_STREAMS:-10}
case $BACKEND in go | flask) ;; *) die "BACKEND must be go or flask, not \"$BACKEND\"" ;; esac
case $HEADERS in same | minimal) ;; *) die "HEADERS must be same or minimal, not \"$HEADERS\"" ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not \"$ROUNDS\""
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive number, not \"$CONNS\""
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]?$ ]] || die "THREADS must be a small positive number, not \"$THREADS\""
[[ -z $BASELINE || -x $BASELINE ]] || die "BASELINE must be an executable bench/proxyserver build, not \"$BASELINE\""

# --- tools: say exactly what is missing, install nothing -------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have wrk || missing+=(wrk)
have haproxy || missing+=(haproxy)
have nginx || missing+=(nginx)
have go || die "go is missing: install Go 1.26 (https://go.dev/dl/) to build the backend and the proxy"
have python3 || die "python3 is missing (used to compute the medians)"
have ss || die "ss is missing: sudo apt-get install iproute2"
if [[ -n $tls ]]; then
	have openssl || die "MODE=$MODE needs openssl to make the certificate: sudo apt-get install openssl"
	[[ $MODE != h2 ]] || have h2load || die "MODE=h2 needs h2load: sudo apt-get install nghttp2-client"
fi
if ((${#missing[@]})); then
	say "missing: ${missing[*]} — install with: sudo apt-get install ${missing[*]}"
	have wrk || die "wrk is required for every measurement; nothing measured"
fi
if [[ $BACKEND == flask ]]; then
	python3 -c 'import flask' 2>/dev/null ||
		die "BACKEND=flask needs Flask for python3: python3 -m pip install flask (or sudo apt-get install python3-flask)"
	# The interpreter itself, not a wrapper such as a pyenv shim (one less process to start).
	python=$(python3 -c 'import sys; print(sys.executable)')
fi

# --- processes we start, and their cleanup (by PID only) --------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devcluster-bench.XXXXXX")
pids=()
ports=()
. "$here/lib.sh"
curl_tls=()
if [[ -n $tls ]]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.log" ||
		die "openssl could not make the certificate: $(tail -3 "$tmp/openssl.log")"
	cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/haproxy.pem"
	curl_tls=(--cacert "$tmp/cert.pem")
fi
scheme=http
[[ -z $tls ]] || scheme=https

base=
for try in 18000 18200 18400 18600 18800 19000 19200 19400; do
	ok=1
	for p in $((try + 1)) $((try + 2)) $((try + 3)) $((try + 80)) $((try + 81)) $((try + 82)) $((try + 83)); do
		if port_busy "$p"; then ok=; break; fi
	done
	if [[ -n $ok ]]; then base=$try; break; fi
done
[[ -n $base ]] || die "no free port block found in 18000-19499 (each needs N+1..N+3 and N+80..N+83)"
backend_ports=($((base + 1)) $((base + 2)) $((base + 3)))
port_devcluster=$((base + 80))
port_haproxy=$((base + 81))
port_nginx=$((base + 82))
port_baseline=$((base + 83))

# --- build ---------------------------------------------------------------------------------
say "building bench/backend and bench/proxyserver into $tmp"
(cd "$repo" && go build -o "$tmp/backend" ./bench/backend) || die "bench/backend does not build"
have_devcluster=1
if ! (cd "$repo" && go build -o "$tmp/proxyserver" ./bench/proxyserver) 2>"$tmp/build-proxyserver.log"; then
	have_devcluster=
	say "devcluster's proxy does not build yet; skipping its column:"
	sed 's/^/    /' "$tmp/build-proxyserver.log" | head -15 >&2
fi

# wait_http URL [PID [SECS]]: poll until URL answers (any HTTP status); give up after SECS
# (default 10) or as soon as PID has exited.
wait_http() {
	local url=$1 pid=${2:-} deadline=$((SECONDS + ${3:-10}))
	until curl -s "${curl_tls[@]}" -o /dev/null --max-time 1 "$url"; do
		((SECONDS < deadline)) || return 1
		[[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
}

start() { # start NAME LOGFILE CMD...: run in the background, remember its PID
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
}

# --- backends ----------------------------------------------------------------------------
for i in 1 2 3; do
	p=${backend_ports[i - 1]}
	if [[ $BACKEND == go ]]; then
		flags=(-addr "127.0.0.1:$p")
		[[ $MODE == close ]] && flags+=(-close)
		true
		start "backend$i" "$tmp/backend$i.log" "$tmp/backend" "${flags[@]}"
	else
		start "backend$i" "$tmp/backend$i.log" env -u WERKZEUG_RUN_MAIN -u WERKZEUG_SERVER_FD \
			PORT="$p" PS="web.$i" PYTHONUNBUFFERED=1 \
			"$python" -m flask --app "$repo/examples/flask/app" run --no-reload --host 127.0.0.1 --port "$p"
	fi
done
for i in 1 2 3; do
	p=${backend_ports[i - 1]}
	wait_http "http://127.0.0.1:$p/" "${pids[i - 1]}" 30 || die "backend web.$i on port $p did not answer within 30 s; its log: $(tail -3 "$tmp/backend$i.log")"
done

# --- proxies -------------------------------------------------------------------------------
targets=(direct)
[[ -z $tls ]] || targets=() # the backends speak plain HTTP/1.1 only
declare -A url=([direct]="http://127.0.0.1:${backend_ports[0]}/")
declare -A pid_of=()

if [[ -n $have_devcluster ]]; then
	args=(-listen "127.0.0.1:$port_devcluster")
	for i in 1 2 3; do args+=(-backend "web.$i=127.0.0.1:${backend_ports[i - 1]}"); done
	[[ -z $ONREQUEST ]] || args+=(-onrequest)
	[[ -z $tls ]] || args+=(-tls-cert "$tmp/cert.pem" -tls-key "$tmp/key.pem")
	if [[ -n $PROFILE ]]; then
		mkdir -p "$here/out"
		prof="$here/out/proxy-$BACKEND-$MODE.pprof"
		args+=(-cpuprofile "$prof")
	fi
	if [[ -n $THREADS ]]; then
		start devcluster "$tmp/devcluster.log" env GOMAXPROCS="$THREADS" "$tmp/proxyserver" "${args[@]}"
	else
		start devcluster "$tmp/devcluster.log" "$tmp/proxyserver" "${args[@]}"
	fi
	if wait_http "$scheme://127.0.0.1:$port_devcluster/" "$pid_devcluster"; then
		targets+=(devcluster)
		url[devcluster]="$scheme://127.0.0.1:$port_devcluster/"
		pid_of[devcluster]=$pid_devcluster
	else
		say "devcluster's proxy did not answer within 10 s; skipping its column. Its log:"
		tail -5 "$tmp/devcluster.log" >&2
	fi
fi

if [[ -n $BASELINE ]]; then
	args=(-listen "127.0.0.1:$port_baseline")
	for i in 1 2 3; do args+=(-backend "web.$i=127.0.0.1:${backend_ports[i - 1]}"); done
	[[ -z $ONREQUEST ]] || args+=(-onrequest)
	start baseline "$tmp/baseline.log" env ${THREADS:+GOMAXPROCS="$THREADS"} "$BASELINE" "${args[@]}"
	wait_http "http://127.0.0.1:$port_baseline/" "$pid_baseline" || die "BASELINE $BASELINE did not answer within 10 s: $(tail -3 "$tmp/baseline.log")"
	targets+=(baseline)
	url[baseline]="http://127.0.0.1:$port_baseline/"
	pid_of[baseline]=$pid_baseline
fi

if have haproxy; then
	{
		echo "global"
		[[ -z $THREADS ]] || echo "    nbthread $THREADS"
		echo "    maxconn 4000"
		echo "defaults"
		echo "    mode http"
		echo "    option http-keep-alive"
		echo "    option forwardfor"
		echo "    http-reuse always"
		echo "    timeout connect 2s"
		echo "    timeout client 30s"
		echo "    timeout server 30s"
		echo "    timeout http-keep-alive 30s"
		echo "frontend fe"
		if [[ -n $tls ]]; then
			echo "    bind 127.0.0.1:$port_haproxy ssl crt $tmp/haproxy.pem alpn h2,http/1.1"
		else
			echo "    bind 127.0.0.1:$port_haproxy"
		fi
		echo "    default_backend web"
		echo "backend web"
		echo "    balance roundrobin"
		if [[ $HEADERS == same ]]; then
			echo "    http-request set-header X-Forwarded-Proto $scheme"
			echo "    http-request set-header X-Forwarded-Host %[req.hdr(host)]"
			echo "    http-request set-header X-Real-IP %[src]"
			echo "    http-response set-header X-Devcluster-Instance %s"
		fi
		for i in 1 2 3; do echo "    server web$i 127.0.0.1:${backend_ports[i - 1]} check inter 1s"; done
	} >"$tmp/haproxy.cfg"
	haproxy -c -q -f "$tmp/haproxy.cfg" || die "haproxy rejected $tmp/haproxy.cfg (KEEP=1 to keep it)"
	start haproxy "$tmp/haproxy.log" haproxy -db -f "$tmp/haproxy.cfg"
	if wait_http "$scheme://127.0.0.1:$port_haproxy/" "$pid_haproxy"; then
		targets+=(haproxy)
		url[haproxy]="$scheme://127.0.0.1:$port_haproxy/"
		pid_of[haproxy]=$pid_haproxy
	else
		say "haproxy did not answer within 10 s; skipping its column: $(tail -3 "$tmp/haproxy.log")"
	fi
fi

if [[ -n $tls ]]; then
	say "MODE=$MODE: devcluster against HAProxy with the same certificate (no nginx column)"
elif have nginx; then
	mkdir -p "$tmp/nginx"
	{
		echo "user $(id -un) $(id -gn);"
		echo "worker_processes ${THREADS:-auto};"
		echo "daemon off;"
		echo "pid $tmp/nginx/nginx.pid;"
		echo "error_log $tmp/nginx/error.log warn;"
		echo "events { worker_connections 4000; }"
		echo "http {"
		echo "    access_log off;"
		echo "    client_body_temp_path $tmp/nginx/body;"
		echo "    proxy_temp_path $tmp/nginx/proxy;"
		echo "    fastcgi_temp_path $tmp/nginx/fastcgi;"
		echo "    uwsgi_temp_path $tmp/nginx/uwsgi;"
		echo "    scgi_temp_path $tmp/nginx/scgi;"
		echo "    keepalive_requests 1000000;"
		echo "    upstream web {"
		for i in 1 2 3; do echo "        server 127.0.0.1:${backend_ports[i - 1]};"; done
		echo "        keepalive 64;"
		echo "        keepalive_requests 1000000;"
		echo "    }"
		echo "    server {"
		echo "        listen 127.0.0.1:$port_nginx;"
		echo "        location / {"
		echo "            proxy_pass http://web;"
		echo "            proxy_http_version 1.1;"
		echo "            proxy_set_header Connection \"\";"
		echo "            proxy_set_header Host \$http_host;"
		echo "            proxy_set_header X-Real-IP \$remote_addr;"
		echo "            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
		if [[ $HEADERS == same ]]; then
			echo "            proxy_set_header X-Forwarded-Proto \$scheme;"
			echo "            proxy_set_header X-Forwarded-Host \$http_host;"
			echo "            add_header X-Devcluster-Instance \$upstream_addr always;"
		fi
		echo "        }"
		echo "    }"
		echo "}"
	} >"$tmp/nginx.conf"
	start nginx "$tmp/nginx/stderr.log" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx.conf"
	if wait_http "http://127.0.0.1:$port_nginx/" "$pid_nginx"; then
		targets+=(nginx)
		url[nginx]="http://127.0.0.1:$port_nginx/"
		pid_of[nginx]=$pid_nginx
	else
		say "nginx did not answer within 10 s; skipping its column: $(tail -3 "$tmp/nginx/error.log" 2>/dev/null)"
	fi
fi

# --- the same work: with HEADERS=same, every proxy must add what devcluster adds ------------------
if [[ $HEADERS == same ]]; then
	for t in "${targets[@]}"; do
		[[ $t == direct ]] && continue
		resp=$(curl -si "${curl_tls[@]}" --max-time 2 "${url[$t]}headers" | tr -d '\r') || resp=
		lacking=()
		grep -qi '^X-Devcluster-Instance:' <<<"$resp" || lacking+=("X-Devcluster-Instance (response)")
		if [[ $BACKEND == go ]]; then
			for h in X-Forwarded-For X-Forwarded-Proto X-Forwarded-Host X-Real-Ip; do
				grep -qx "$h" <<<"$resp" || lacking+=("$h")
			done
		fi
		((${#lacking[@]} == 0)) || die "$t does not add ${lacking[*]}: HEADERS=same compares proxies doing the same work (KEEP=1 keeps the configs)"
	done
	say "checked: each proxy adds X-Forwarded-For/-Proto/-Host and X-Real-IP, and X-Devcluster-Instance"
fi

# --- measuring -------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)

# cpu_ticks PID: utime+stime of PID and all its descendants (nginx's workers), in clock ticks.
cpu_ticks() {
	local pid=$1 total=0 stat rest child t
	local -a f
	[[ -r /proc/$pid/stat ]] || { echo 0; return; }
	stat=$(</proc/"$pid"/stat)
	rest=${stat##*) } # fields after "(comm)": rest[0] is field 3 (state)
	read -r -a f <<<"$rest"
	total=$((f[11] + f[12])) # fields 14 utime and 15 stime
	for t in /proc/"$pid"/task/*/children; do
		for child in $(cat "$t" 2>/dev/null); do
			total=$((total + $(cpu_ticks "$child")))
		done
	done
	echo "$total"
}

results=$tmp/results.tsv
: >"$results"

# load URL DURATION: the load of this MODE on URL. tls-close asks for a new
# connection per request (wrk reconnects after Connection: close).
load() {
	case $MODE in
	h2) h2load -c"$CONNS" -m"$H2_STREAMS" -t1 -D"${2%s}" "$1" ;;
	tls-close) wrk -t1 -c"$CONNS" -d"$2" --latency -H "Connection: close" "$1" ;;
	*) wrk -t1 -c"$CONNS" -d"$2" --latency "$1" ;;
	esac
}

# h2load_as_wrk FILE: rewrite h2load's summary as the wrk lines measure reads
# (p50 is h2load's mean request time, p99 its max: h2load gives no percentiles).
h2load_as_wrk() {
	python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", t)
done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", t)
lat = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", t)
if rps and done and lat:
    mn, mnu, mx, mxu, mean, meanu = lat.groups()
    fails = int(done.group(3)) + int(done.group(4))
    t += "\n%s requests in 1s\nRequests/sec: %s\n     50%%    %s%s\n     99%%    %s%s\nNon-2xx or 3xx responses: %d\n" % (done.group(1), rps.group(1), mean, meanu, mx, mxu, fails)
open(sys.argv[1], "w").write(t)
PY
}

# measure TARGET ROUND: one load run, one line of results.
measure() {
	local target=$1 round=$2 out=$tmp/wrk-$1-$2.txt before=0 after=0 pid=${pid_of[$1]:-}
	[[ -n $pid ]] && before=$(cpu_ticks "$pid")
	load "${url[$target]}" "$DURATION" >"$out" 2>&1 || true
	[[ -n $pid ]] && after=$(cpu_ticks "$pid")
	[[ $MODE != h2 ]] || h2load_as_wrk "$out"
	python3 - "$target" "$round" "$out" "$((after - before))" "$clk_tck" "$pid" >>"$results" <<'PY'
import re, sys
target, rnd, path, ticks, clk, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
text = open(path).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
reqs = re.search(r"(\d+) requests in", text)
lat = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
if not rps or not reqs or "50" not in lat or "99" not in lat:
    print("bench: could not read wrk's output for %s round %s:\n%s" % (target, rnd, text), file=sys.stderr)
    sys.exit(0)
n = int(reqs.group(1))
cpu = "" if not pid or n == 0 else "%.1f" % (ticks / clk * 1e6 / n)
print("\t".join([target, rnd, rps.group(1), "%.3f" % lat["50"], "%.3f" % lat["99"], cpu, str(errors)]))
PY
	tail -n1 "$results" | awk -F'\t' -v t="$target" -v r="$round" \
		'$1 == t && $2 == r { printf "bench: round %s %-10s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %s us/req  errors %s\n", r, t, $3, $4, $5, ($6 == "" ? "-" : $6), $7 }' >&2
}

n=${#targets[@]}
desc="$K $BACKEND backends"
[[ $BACKEND == go ]] && desc+=" ($MODE)"
[[ $MODE != h2 ]] || desc+=", h2load -m$H2_STREAMS"
desc+=", headers: $HEADERS"
[[ -z $ONREQUEST ]] || desc+=", devcluster with an OnRequest recorder"
say "measuring: ${targets[*]}; $desc; wrk -t1 -c$CONNS -d$DURATION; $ROUNDS rounds"
say "warm-up: 1 s per target"
for t in "${targets[@]}"; do load "${url[$t]}" 1s >/dev/null 2>&1 || true; done
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order every round so that no target always runs first (or after the same one).
	for ((j = 0; j < n; j++)); do
		measure "${targets[(j + r - 1) % n]}" "$r"
	done
done

if [[ -n $PROFILE && -n ${pid_of[devcluster]:-} ]]; then
	# The profile is written when proxyserver exits.
	stop_pids
	cp "$tmp/proxyserver" "$here/out/proxyserver"
	say "CPU profile of devcluster's proxy: go tool pprof -top $here/out/proxyserver $prof"
fi

# --- the table -------------------------------------------------------------------------------
threads_desc="haproxy nbthread ${THREADS:-default ($(nproc) CPUs)}, nginx worker_processes ${THREADS:-auto ($(nproc))}, devcluster GOMAXPROCS ${THREADS:-default ($(nproc))}"
python3 - "$results" "$desc" "$CONNS" "$DURATION" "$ROUNDS" "$threads_desc" <<'PY'
import statistics, sys
path, desc, conns, dur, rounds, threads = sys.argv[1:]
rows = {}
for line in open(path):
    t, r, rps, p50, p99, cpu, err = line.rstrip("\n").split("\t")
    d = rows.setdefault(t, {"rps": [], "p50": [], "p99": [], "cpu": [], "err": 0})
    d["rps"].append(float(rps)); d["p50"].append(float(p50)); d["p99"].append(float(p99))
    if cpu:
        d["cpu"].append(float(cpu))
    d["err"] += int(err)
med = {t: {k: (statistics.median(v) if v else None) for k, v in d.items() if k != "err"} for t, d in rows.items()}
ha = med.get("haproxy")
print("devcluster proxy benchmark: %s, wrk -t1 -c%s -d%s, medians of %s rounds" % (desc, conns, dur, rounds))
print("(%s)" % threads)
print()
print("| target     |   req/s | p50 ms | p99 ms | CPU µs/req | req/s ÷ HAProxy | p99 ÷ HAProxy | errors |")
print("|------------|--------:|-------:|-------:|-----------:|----------------:|--------------:|-------:|")
for t in ["direct", "baseline", "devcluster", "haproxy", "nginx"]:
    if t not in med:
        continue
    m = med[t]
    cpu = "-" if m["cpu"] is None else "%.1f" % m["cpu"]
    rr = "-" if not ha else "%.2f" % (m["rps"] / ha["rps"])
    pr = "-" if not ha else "%.2f" % (m["p99"] / ha["p99"])
    print("| %-10s | %7.0f | %6.2f | %6.2f | %10s | %15s | %13s | %6d |" % (t, m["rps"], m["p50"], m["p99"], cpu, rr, pr, rows[t]["err"]))
PY
