#!/usr/bin/env bash
# Makes sure a program from Debian's packages is installed: does nothing when FILE exists,
# else installs the PACKAGES with apt-get as root (or password-less sudo). Idempotent.
#   scripts/ensure-debian-packages.sh FILE PACKAGE...
set -euo pipefail

file="$1"; shift
if [ -e "$file" ]; then
  echo "present: $file"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "$file is missing and this user cannot install it: run 'apt-get install -y $*' as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "$@"
test -e "$file" || { echo "$* installed but $file is not there" >&2; exit 1; }
echo "installed: $file ($*)"
