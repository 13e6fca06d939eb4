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
# Fuzz seeds in testdata/fuzz replay as ordinary tests here.
# The end-to-end CLI scripts (cmd/devcluster) run real clusters with timing bounds (a
# stop within stop_timeout + 1 s); they run after the other packages, not beside them,
# so that two cores are not shared with a dozen race-detector test binaries.
go test -race -count=1 -timeout 20m "$@" $(go list ./... | grep -v '/cmd/devcluster$')
go test -race -count=1 -timeout 20m "$@" ./cmd/devcluster
