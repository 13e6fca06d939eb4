#!/usr/bin/env bash
# The demo command of the README: three Flask instances on 5000-5002 behind
# http://127.0.0.1:8080. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_go
need_flask
mkdir -p bin
go build -o bin/devcluster ./cmd/devcluster
echo "devcluster: open http://127.0.0.1:8080 (or: curl -i http://127.0.0.1:8080/) — Ctrl-C to stop" >&2
exec bin/devcluster up -f Procfile.example -m web=3 "$@"
