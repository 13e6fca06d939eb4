# Shared by the bench scripts (sourced after they define say, tmp, KEEP, pids and ports):
# every process they start is recorded in pids and stopped by PID only; every port they
# hand to devcluster is in ports and checked for leftovers.

# stop_pids: SIGTERM every recorded pid, SIGKILL what is still there after 10 s, reap.
stop_pids() {
	local pid deadline
	((${#pids[@]})) || return 0
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	deadline=$((SECONDS + 10))
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			say "pid $pid did not stop within 10 s of SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}

# port_busy PORT: something listens on PORT.
port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

# holder PORT: pid of the process listening on 127.0.0.1:PORT (empty if none).
holder() { { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; } || true; }

# leftover_holders: report (and stop) anything still listening on our ports after devcluster
# has exited — its children, so ours; devcluster should never leave any.
leftover_holders() {
	local p line pid
	((${#ports[@]})) || return 0
	for p in "${ports[@]}"; do
		line=$(ss -Hltnp "sport = :$p" 2>/dev/null || true)
		[[ -n $line ]] || continue
		say "BUG: port $p is still held after devcluster exited: $line"
		for pid in $(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2 | sort -u); do
			kill -KILL "$pid" 2>/dev/null || true
		done
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e # clean up all of it, whatever fails on the way
	stop_pids
	leftover_holders
	if [[ -n $KEEP ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
