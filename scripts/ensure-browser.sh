#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (tests/browser).
# fonts-dejavu-core: the accents, € and œ of the pages render in screenshots.
set -euo pipefail
exec "$(dirname "$0")/ensure-debian-packages.sh" "${PORTAL_CHROMIUM:-/usr/bin/chromium}" chromium fonts-dejavu-core
