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
# A process by that name that is not a zombie (a daemon killed outright stays one until reaped).
alive() { ps -eo stat=,comm= | awk -v name="$1" '$1 !~ /^Z/ && $2 == name {found=1} END {exit !found}'; }
if ! alive dockerd; then
  echo "dockerd is not running: starting it (log: $log)"
  # A daemon killed outright (CI ends what a session left running) leaves its pid files, and the
  # next dockerd then waits forever for a containerd that is gone.
  alive containerd || rm -f /var/run/docker/containerd/containerd.pid
  rm -f /var/run/docker.pid
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
