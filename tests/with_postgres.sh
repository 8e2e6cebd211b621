#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster, run the given command with TEST_DATABASE_URL pointing at
# it, then stop and delete the cluster whatever happened.
set -euo pipefail
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -n "$PG_BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
PORT="${PG_TEST_PORT:-55432}"
DIR="$(mktemp -d /tmp/community-pg.XXXXXX)"
chown postgres "$DIR" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres community_test
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/community_test"
echo "PostgreSQL test cluster on port $PORT"
"$@"
