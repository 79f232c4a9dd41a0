#!/usr/bin/env bash
# make bench: the sensor against nginx + ModSecurity-nginx (same rules, same machine, wrk).
set -euo pipefail
BUILD="${1:-build/release}"
cd "$(dirname "$0")/.."
python3 bench/bench.py --drosera "$BUILD/drosera" ${BENCH_ARGS:-}

# The store (docs/store.md): ingest into SQLite and a private PostgreSQL, then the dashboard's
# queries over 1,000,000 events. store_bench on CPU 1; the PostgreSQL server on CPU 0.
pg_dir="$(mktemp -d /tmp/drosera-pg-XXXXXX)"
trap 'tests/conformance/pg_server.sh stop "$pg_dir"' EXIT
if pg_conninfo="$(taskset -c 0 tests/conformance/pg_server.sh start "$pg_dir")"; then
  export DROSERA_PG_CONNINFO="$pg_conninfo"
else
  echo "bench: PostgreSQL did not start; the store bench measures SQLite only" >&2
fi
taskset -c 1 "$BUILD/bench/store_bench" ${STORE_BENCH_ARGS:-}
