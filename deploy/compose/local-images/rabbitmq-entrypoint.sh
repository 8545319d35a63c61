#!/bin/sh
# The default user comes from the environment and the log goes to the console, as with the official image.
# The server runs as PID 1 under the rabbitmq user (not through Debian's su wrapper, which would not pass
# it `docker stop`'s SIGTERM).
set -eu
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
log.console = true
log.file = false
CONF
if [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  cd /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq "$@"
fi
exec "$@"
