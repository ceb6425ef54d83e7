#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the test suite and benchmarks, in a temporary directory,
# owned by an unprivileged user (PostgreSQL refuses to run as root: as root it runs as `postgres`, else
# as the caller). Prints two lines for `eval`:
#   export ANODE_TEST_POSTGRES=postgres://anode:anode@127.0.0.1:<port>/postgres
#   export ANODE_TEST_POSTGRES_DIR=<dir>
# `scripts/postgres-cluster.sh stop <dir>` stops it and removes the directory.
set -euo pipefail

pgbin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$d" ] || { echo "postgres-cluster: no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
  dir="$2"
  [ -d "$dir/data" ] && as_owner "$(pgbin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

bin="$(pgbin)"
dir="$(mktemp -d /tmp/anode-pg.XXXXXX)"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
port="${ANODE_PG_PORT:-$(( 20000 + RANDOM % 20000 ))}"
echo anode > "$dir/pw"
as_owner "$bin/initdb" -D "$dir/data" -U anode --pwfile="$dir/pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync stays on (the default): the durability the tests check is the server's real one. Enough
# connections for many test files and the three-tower test at once.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "export ANODE_TEST_POSTGRES=postgres://anode:anode@127.0.0.1:$port/postgres"
echo "export ANODE_TEST_POSTGRES_DIR=$dir"
