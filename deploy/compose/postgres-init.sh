#!/usr/bin/env bash
# First start of the compose PostgreSQL: one role and one database per service,
# each database owned by its role and closed to every other role.
# Passwords come from the container environment (see docker-compose.yml).
set -euo pipefail

create() {
  local name="$1" password="$2"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
SQL
}

create quotes    "${QUOTES_DB_PASSWORD:?}"
create portal    "${PORTAL_DB_PASSWORD:?}"
create signature "${SIGNATURE_DB_PASSWORD:?}"
create notifier  "${NOTIFIER_DB_PASSWORD:?}"
