# Sourced by scripts/test.sh and scripts/demo.sh: finds, and as root installs, what
# devcluster's demo and tests need. Everything comes from Debian's packages; nothing is
# downloaded from anywhere else. Without root it says exactly what is missing.

# apt_install PKG...: install Debian packages when we are root, else print the command.
apt_install() {
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "devcluster: installing $* with apt-get" >&2
		if [ -z "${DEVCLUSTER_APT_UPDATED:-}" ]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
			export DEVCLUSTER_APT_UPDATED=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
	else
		echo "devcluster: missing: $*" >&2
		echo "devcluster: install with: sudo apt-get install -y $*" >&2
		return 1
	fi
}

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "devcluster: missing: Go 1.26 or newer (https://go.dev/dl/, or your package manager)" >&2
		return 1
	fi
}

# has_module PYTHON MODULE: whether PYTHON finds MODULE, without importing it (importing
# Flask took most of a second of scripts/demo.sh's start on a busy machine, on top of the
# pyenv shim's own start).
has_module() {
	"$1" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)' "$2" >/dev/null 2>&1
}

# need_flask: python3 on PATH must find flask (the demo and most tests use it).
need_flask() {
	if has_module python3 flask; then
		return 0
	fi
	if [ -x /usr/bin/python3 ] && has_module /usr/bin/python3 flask; then
		echo "devcluster: python3 on PATH ($(command -v python3)) has no Flask; /usr/bin/python3 has it" >&2
		echo "devcluster: install Flask for it (pip install flask) or put /usr/bin first on PATH" >&2
		return 1
	fi
	apt_install python3-flask || { echo "devcluster: or: pip install flask" >&2; return 1; }
	has_module python3 flask || {
		echo "devcluster: python3-flask is installed for /usr/bin/python3, but python3 on PATH is $(command -v python3); pip install flask for it" >&2
		return 1
	}
}

# need_test_tools: Django, gunicorn, redis, FastAPI and the ASGI servers (for
# /usr/bin/python3), redis-server,
# HAProxy, nginx and wrk for the tests and benchmarks that compare devcluster with them or
# run real servers; etcd and openssl for the Kubernetes control plane; docker-compose and
# debootstrap for the exports run on the engine.
need_test_tools() {
	local missing=()
	{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import django' >/dev/null 2>&1; } || missing+=(python3-django)
	{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import flask' >/dev/null 2>&1; } || missing+=(python3-flask)
	# the workshop scenarios' real Redis (examples/scenarios, issue 13)
	{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import redis' >/dev/null 2>&1; } || missing+=(python3-redis)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	# ASGI: examples/fastapi, scenario 9 and init's commands, run by the real servers (issue 22)
	{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import fastapi, uvicorn, wsproto, redis.asyncio' >/dev/null 2>&1; } ||
		missing+=(python3-fastapi python3-uvicorn python3-wsproto)
	{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import hypercorn, daphne' >/dev/null 2>&1; } || missing+=(python3-hypercorn python3-daphne)
	command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
	command -v wrk >/dev/null 2>&1 || missing+=(wrk)
	[ -x /usr/bin/gunicorn ] || missing+=(gunicorn)
	command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
	# scripts/base-image.sh builds the engine tests' image from Debian's mirror (issue 19)
	command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
	command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
	# the dashboard's browser tests drive Debian's headless Chromium (issue 12)
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	# the real Kubernetes control plane of the export tests (issue 19): etcd as its
	# storage, openssl for its self-signed certificate (scripts/kube-control-plane.sh)
	command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	# the local CA's tests (issue 23): certutil for the NSS database Chromium reads, curl
	# --cacert, and the system store's update-ca-certificates on a private tree
	command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	[ -x /usr/sbin/update-ca-certificates ] || missing+=(ca-certificates)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}"
	fi
}
