#!/usr/bin/env bash
# Runs a command under libfaketime with the wall clock moved, the monotonic clock real:
#   scripts/far-ahead.sh +1826d .venv/bin/python -m pytest tests/unit
#   scripts/far-ahead.sh "@2027-03-28 00:50 UTC" .venv/bin/python -m pytest   (from that moment on)
# A date is turned into an offset from now: libfaketime would start every child process anew at it.
# Python processes it starts (and their children) sleep through tests/faketime/sitecustomize.py.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/ensure-debian-packages.sh" /usr/bin/faketime faketime >/dev/null
offset="$1"; shift
if [[ "$offset" == @* ]]; then
  offset="+$(( $(date -d "${offset#@}" +%s) - $(date +%s) ))s"
fi
# The library is preloaded directly: the `faketime` wrapper names a semaphore after its pid and
# refuses to start ("sem_open: File exists") when a killed run left one under a pid now reused.
lib="$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n1)"
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
export FAKETIME="$offset"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# RabbitMQ's command-line tools run Erlang, which talks to the broker's node: the broker is another
# machine with its own clock, and a faked CLI failed now and then (add_vhost exit 1).
export FAKETIME_SKIP_CMDS="beam.smp,erl,erl_child_setup,erlexec,epmd,inet_gethost${FAKETIME_SKIP_CMDS:+,$FAKETIME_SKIP_CMDS}"
export PYTHONPATH="$here/tests/faketime${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
