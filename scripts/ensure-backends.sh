#!/usr/bin/env bash
# Makes sure the RabbitMQ and PostgreSQL servers of this machine answer; starts a stopped one.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name port seconds
  for _ in $(seq 1 "$3"); do answers "$2" && { echo "$1 answers on 127.0.0.1:$2"; return 0; }; sleep 1; done
  echo "$1 does not answer on 127.0.0.1:$2 after $3 s" >&2
  return 1
}

if ! answers 5672; then
  echo "RabbitMQ is not answering: starting it"
  rabbitmq-server -detached || true
fi
if ! answers 5432; then
  echo "PostgreSQL is not answering: starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for RabbitMQ 5672 90
wait_for PostgreSQL 5432 60
# A TCP answer comes before RabbitMQ accepts AMQP sessions: wait for the broker itself.
for _ in $(seq 1 60); do
  if rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then break; fi
  sleep 1
done
for _ in $(seq 1 30); do
  if pg_isready -h 127.0.0.1 -p 5432 -q; then exit 0; fi
  sleep 1
done
echo "PostgreSQL does not accept connections" >&2
exit 1
