#!/usr/bin/env bash
# Makes sure a Docker daemon answers on /var/run/docker.sock: installs Debian's docker.io,
# docker-compose and debootstrap when missing, and starts dockerd in the background (there is
# no systemd here) with its log in var/dockerd.log. Does nothing when the daemon already answers.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
log="$here/var/dockerd.log"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$here/var"
if ! pgrep -x dockerd >/dev/null; then
  echo "dockerd is not running: starting it (log: $log)"
  nohup dockerd >>"$log" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then
    echo "dockerd answers on /var/run/docker.sock"
    exit 0
  fi
  sleep 1
done
echo "dockerd does not answer after 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
