#!/bin/sh
# Entrypoint of the test Postgres images, modelled on the official image's docker-entrypoint.sh:
# initdb on an empty PGDATA with POSTGRES_PASSWORD (scram for TCP, trust on the local socket and
# 127.0.0.1 as the official image does), optional POSTGRES_DB, then `postgres` as the postgres user.
set -e
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
[ "${1:-}" = postgres ] && shift
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:-postgres}" > "$pw"
  initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  printf 'host all all 127.0.0.1/32 trust\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    createdb -U "${POSTGRES_USER:-postgres}" "$POSTGRES_DB"
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
fi
exec postgres "$@"
