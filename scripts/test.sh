#!/usr/bin/env bash
# The test command of the README: installs (as root) or names what the tests need,
# then runs gofmt, go vet and the whole suite with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_go
need_flask
need_test_tools
export PATH="$PATH:/usr/sbin"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
# A macOS or FreeBSD user's build must not break unseen: vet type-checks every file of
# those platforms too.
GOOS=darwin go vet ./...
GOOS=freebsd go vet ./...
# staticcheck at a pinned version, built through the module proxy (no install step).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
# Fuzz seeds in testdata/fuzz replay as ordinary tests here.
# The end-to-end CLI scripts (cmd/devcluster) run real clusters with timing bounds (a
# stop within stop_timeout + 1 s); they run after the other packages, not beside them,
# so that two cores are not shared with a dozen race-detector test binaries.
go test -race -count=1 -timeout 20m "$@" $(go list ./... | grep -v '/cmd/devcluster$')
# The race detector cannot see buffers the kernel fills through raw read/write system
# calls, so race builds of the proxy take the portable socket path; this run, without
# -race, exercises the Linux raw-socket path itself.
go test -count=1 -timeout 10m "$@" ./proxy
go test -race -count=1 -timeout 20m "$@" ./cmd/devcluster
