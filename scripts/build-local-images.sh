#!/usr/bin/env bash
# Builds, without any container registry, the images deploy/compose/local-images.yml runs instead of
# the official ones: a Debian bookworm base made with debootstrap from the Debian mirror apt uses here,
# and on it Python 3.11, RabbitMQ, PostgreSQL 15 and a mail catcher. The root file system is kept in
# var/local-images/ and Docker keeps the base and its layer cache, so a second run takes seconds.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
work="$here/var/local-images"
rootfs_tar="$work/debian-bookworm-rootfs.tar"
base=quoteflow-local/debian:bookworm
mkdir -p "$work"

# The mirror apt uses on this machine (deb822 .sources files or a one-line sources.list).
mirror="$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+)https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
            /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
          | grep -oE 'https?://[^[:space:]]+' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

# A base Docker already holds is reused: a fresh clone (CI) on this machine debootstraps nothing.
if ! docker image inspect "$base" >/dev/null 2>&1 && [ ! -s "$rootfs_tar" ]; then
  echo "debootstrap bookworm from $mirror"
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian*}/debian-security bookworm-security main
SOURCES
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/90quoteflow-minimal"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$rootfs"
  docker image rm -f "$base" >/dev/null 2>&1 || true
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
  docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$rootfs_tar" "$base" >/dev/null
  echo "imported $base"
fi

# The build context: the recipes, and the host's CA bundle for pip and apt inside the builds.
context="$work/context"
mkdir -p "$context"
cp "$here"/deploy/compose/local-images/* "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
# pip inside a build uses the index the host's pip uses, when one is set.
index="${PIP_INDEX_URL:-$(pip config get global.index-url 2>/dev/null || true)}"
pip_args=()
[ -n "$index" ] && pip_args=(--build-arg "PIP_INDEX=$index")

build() {  # tag recipe [args...]
  local tag="$1" recipe="$2"; shift 2
  echo "building $tag"
  # The classic builder: BuildKit would fetch its Dockerfile frontend from a registry.
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" -f "$context/$recipe" "$@" "$context" 2>&1 >/dev/null \
    | { grep -v -e 'DEPRECATED: The legacy builder' -e 'BuildKit is currently disabled' \
                -e 'environment-variable\.$' -e '^$' || true; } >&2
}
build quoteflow-local/python:3.11 python.Dockerfile
build quoteflow-local/rabbitmq:3 rabbitmq.Dockerfile
build quoteflow-local/postgres:15 postgres.Dockerfile
build quoteflow-local/mailcatcher:1 mailcatcher.Dockerfile "${pip_args[@]}"
