#!/usr/bin/env bash
# The test command of the README: installs (as root) or names what the tests need,
# then runs gofmt, go vet, staticcheck and the whole suite with the race detector.
#
# Every step runs even when an earlier one failed (one flaky package must not hide the
# CLI suite behind it), and the run ends with a summary: each step's result, then, as
# the very last line, "N passed, N failed". N counts Go tests and subtests (from
# go test -json; a package that fails outside any test, a build error say, counts as
# one failure) plus each step that is not go test as one check. The exit status is
# non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_go || exit 1 # without Go no step can run
export PATH="$PATH:/usr/sbin"

counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
steps=()         # "RESULT name" per step, for the summary
checks_passed=0  # steps that are not go test, counted as one check each
checks_failed=0

# check NAME CMD...: a step that is one check.
check() {
	local name=$1
	shift
	echo "== $name" >&2
	if "$@"; then
		steps+=("ok    $name")
		checks_passed=$((checks_passed + 1))
	else
		steps+=("FAIL  $name")
		checks_failed=$((checks_failed + 1))
	fi
}

# gotest NAME ARGS...: a go test step; its tests are counted one by one.
gotest() {
	local name=$1
	shift
	echo "== $name" >&2
	local before after status
	before=$(wc -l <"$counts")
	go test -json "$@" | python3 scripts/gotestsum.py "$counts"
	status=${PIPESTATUS[0]}
	after=$(wc -l <"$counts")
	if [ "$after" -eq "$before" ]; then # the reader died: count the step as failed
		echo "0 1 0" >>"$counts"
	fi
	local p f s
	read -r p f s < <(tail -n 1 "$counts")
	if [ "$status" -eq 0 ] && [ "$f" -eq 0 ]; then
		steps+=("ok    $name: $p passed, $s skipped")
	else
		[ "$f" -eq 0 ] && { echo "0 1 0" >>"$counts"; f=1; } # go test failed, no test did
		steps+=("FAIL  $name: $p passed, $f failed, $s skipped")
	fi
}

check "Flask for python3" need_flask
check "test tools (Django, gunicorn, redis, HAProxy, nginx, wrk, chromium…)" need_test_tools

gofmt_clean() {
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	if [ -n "$unformatted" ]; then
		echo "gofmt: these files need formatting (run gofmt -w):" >&2
		echo "$unformatted" >&2
		return 1
	fi
}
check "gofmt" gofmt_clean
check "go vet" go vet ./...
# A macOS or FreeBSD user's build must not break unseen: vet type-checks every file of
# those platforms too.
check "go vet (darwin)" env GOOS=darwin go vet ./...
check "go vet (freebsd)" env GOOS=freebsd go vet ./...
# staticcheck at a pinned version, built through the module proxy (no install step).
check "staticcheck" go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Fuzz seeds in testdata/fuzz replay as ordinary tests here.
# The end-to-end CLI scripts (cmd/devcluster) run real clusters and wait for what they
# check with generous bounds that only catch hangs; they run after the other packages,
# not beside them, so that two cores are not shared with a dozen race-detector test
# binaries.
gotest "go test -race (all but cmd/devcluster)" -race -count=1 -timeout 20m "$@" $(go list ./... | grep -v '/cmd/devcluster$')
# Race builds run the proxy's Linux raw-socket path too (race_linux.go tells the race
# detector what the raw reads and writes touch); this run without -race is the build
# users get, at its own speed.
gotest "go test ./proxy (without -race)" -count=1 -timeout 10m "$@" ./proxy
gotest "go test -race ./cmd/devcluster (the CLI scripts)" -race -count=1 -timeout 20m "$@" ./cmd/devcluster

passed=$checks_passed
failed=$checks_failed
while read -r p f s; do
	passed=$((passed + p))
	failed=$((failed + f))
done <"$counts"

echo
echo "summary:"
for s in "${steps[@]}"; do
	echo "  $s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
