#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL server on loopback and DATABASE_URL set.
# Usage: scripts/with-postgres.sh <command...>
# Starts PostgreSQL as the postgres user when run as root (initdb refuses root),
# installs the server from Debian's packages if it is missing, and always stops it.
set -euo pipefail

if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; then
  echo "with-postgres: installing PostgreSQL server (Debian package)..." >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "with-postgres: PostgreSQL server binaries not found and not root; install 'postgresql'" >&2
    exit 1
  fi
fi
PGBIN=$(pg_config --bindir)
PGDATA=$(mktemp -d /tmp/vox-pg.XXXXXX)
# A free port on loopback.
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
AS=()
if [ "$(id -u)" = 0 ]; then
  AS=(runuser -u postgres --)
  chown postgres:postgres "$PGDATA"
fi
chmod 700 "$PGDATA"
cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k /tmp -c fsync=on -c synchronous_commit=on -c max_connections=200" start >/dev/null
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres vox_test
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/vox_test"
# Tests that need several databases create them from this server.
export VOX_TEST_POSTGRES_ADMIN_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PGPORT" >&2
"$@"
