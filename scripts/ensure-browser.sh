#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (tests/browser). Idempotent:
# does nothing when it is there; installs it with apt-get as root (or password-less sudo).
set -euo pipefail

BROWSER="${PORTAL_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$BROWSER" ]; then
  echo "chromium present: $BROWSER"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "chromium is missing and this user cannot install it: run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# fonts-dejavu-core: the accents, € and œ of the pages render in screenshots.
$SUDO apt-get install -y -qq chromium fonts-dejavu-core
test -x "$BROWSER" || { echo "chromium was installed but $BROWSER is not there" >&2; exit 1; }
echo "chromium installed: $BROWSER"
