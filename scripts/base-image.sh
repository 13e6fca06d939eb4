#!/usr/bin/env bash
# Builds devcluster's offline base image, for the tests and CI that run the exports on a
# real Docker engine with no registry: a Debian bookworm root filesystem made by
# debootstrap from the Debian mirror this machine's apt already uses, with Debian's
# python3, Flask, Django, gunicorn, uvicorn, HAProxy and nginx, then `docker import`ed.
# Real users use public images (python:3.x-slim, haproxy, nginx); this is for machines
# that cannot pull them.
#
# The image's name is the last line of the output. A second run finds the image by the
# hash of its inputs (this script, the suite, the packages, the architecture) and takes
# seconds. Downloaded .debs are kept in $DEVCLUSTER_CACHE (default
# /var/cache/devcluster) between runs; a fresh machine simply downloads them.
#
# Environment: DEVCLUSTER_DEBIAN_MIRROR overrides the mirror read from apt's sources;
# DEVCLUSTER_CACHE the cache directory; DEVCLUSTER_BASE_REPO the image's repository name.
set -euo pipefail

suite=bookworm
packages=(python3 python3-flask python3-django gunicorn python3-uvicorn haproxy nginx)
repo=${DEVCLUSTER_BASE_REPO:-devcluster-base}
cache=${DEVCLUSTER_CACHE:-/var/cache/devcluster}

say() { echo "base-image: $*" >&2; }
die() { say "$*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "missing: the docker CLI (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed): start it (systemctl start docker, or dockerd &) and run again"

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
hash=$( { cat "$0"; echo "$suite ${packages[*]} $arch"; } | sha256sum | cut -c1-12)
image=$repo:$hash

if [ "$(docker image inspect -f '{{index .Config.Labels "org.devcluster.base.inputs"}}' "$image" 2>/dev/null)" = "$hash" ]; then
	say "$image is there already (inputs $hash)"
	echo "$image"
	exit 0
fi

debootstrap=$(command -v debootstrap || true)
[ -n "$debootstrap" ] || [ ! -x /usr/sbin/debootstrap ] || debootstrap=/usr/sbin/debootstrap
[ -n "$debootstrap" ] || die "missing: debootstrap (apt-get install debootstrap)"
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root: run sudo $0"

# mirror prints the first URI apt uses for "$suite" itself (not -updates or -security),
# from the one-line sources.list format and the deb822 .sources format.
mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i+1) == s) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas are separated by blank lines; Types, URIs and Suites are lists.
		awk -v s="$suite" 'function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1 }
				types = uris = suites = "" }
			/^[ \t]*$/ { flush(); if (found) exit; next }
			/^[ \t]*#/ { next }
			tolower($1) == "types:" { $1 = ""; types = $0 }
			tolower($1) == "uris:" { $1 = ""; sub(/^ +/, ""); uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			END { if (!found) flush() }' "$f"
	done
}
url=${DEVCLUSTER_DEBIAN_MIRROR:-$(mirror | head -1)}
[ -n "$url" ] || die "no Debian $suite mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/: add one, or set DEVCLUSTER_DEBIAN_MIRROR"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/devcluster-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache/debootstrap"
start=$(date +%s)
say "building $image: debootstrap $suite from $url with ${packages[*]} (a few minutes the first time)"
include=$(IFS=,; echo "${packages[*]}")
if ! "$debootstrap" --variant=minbase --include="$include" --cache-dir="$cache/debootstrap" \
	"$suite" "$work/root" "$url" >"$work/debootstrap.log" 2>&1; then
	tail -20 "$work/debootstrap.log" >&2
	die "debootstrap failed (the last lines are above)"
fi

# What a container never reads: documentation, translations, apt's indexes and caches.
root=$work/root
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
	"$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/* "$root"/dev/*
# The nginx and haproxy services are started by the container's command, not by init.
rm -f "$root"/etc/nginx/sites-enabled/default

tar -C "$root" --numeric-owner -c . | docker import \
	--change "LABEL org.devcluster.base.inputs=$hash" \
	--change "LABEL org.devcluster.base.packages=\"${packages[*]}\"" \
	--change 'ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1' \
	--change 'CMD ["/bin/bash"]' \
	- "$image" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$image")
say "built $image in $(($(date +%s) - start)) s ($((size / 1024 / 1024)) MiB)"
echo "$image"
