#!/usr/bin/env bash
# The demo command of the README: three Flask instances on 5000-5002 behind
# http://127.0.0.1:8080. Every argument is passed to devcluster up, so it takes
# up's flags: scripts/demo.sh --listen 127.0.0.1:28080 --port 6000. The instances
# have warm standbys (--standby: a save reloads all three in ~0.2 s); pass
# --standby=false to see cold reloads. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_go
mkdir -p bin
# The build and the Flask check (a Python start, through a pyenv shim ~0.4 s) side by
# side: the demo's start waits for the longer of the two, not for both.
go build -o bin/devcluster ./cmd/devcluster &
build=$!
need_flask || { wait "$build" || true; exit 1; }
wait "$build"
# No address here: up's start table names the one the proxy really listens on
# (its "proxy" row), whatever --listen says.
echo "devcluster: open the proxy's URL from the table below (or curl -i it) — Ctrl-C to stop" >&2
exec bin/devcluster up -f Procfile.example -m web=3 --standby "$@"
