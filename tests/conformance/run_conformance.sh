#!/usr/bin/env bash
# Runs the Store conformance suite against SQLite and a private PostgreSQL server.
# Usage: run_conformance.sh STORE_CONFORMANCE_TEST [sqlite|postgres|both] [gtest arguments...]
# With `sqlite` or `postgres`, only that backend's half runs (make test runs the two halves as
# two CTest tests, side by side); `sqlite` needs no server. Each half fails if its filter selects
# no test (disabled ones do not count), and the sqlite half fails if a test belongs to neither
# half, so none can drop out of both by its name. A --gtest_filter of your own replaces the
# half's (gtest takes the last one): use it with `both`.
set -euo pipefail
test_bin="$1"
shift
backend=both
case "${1:-}" in
  sqlite | postgres | both) backend="$1"; shift ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"

sqlite_filter='*/Sqlite:SqliteOnly.*'
postgres_filter='*/Postgres:PostgresOnly.*'
listed() {  # the tests a filter selects, one per line
  "$test_bin" --gtest_list_tests --gtest_filter="$1" |
    awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}'
}
filter=
case "$backend" in
  sqlite) filter="$sqlite_filter" ;;
  postgres) filter="$postgres_filter" ;;
esac
if [ -n "$filter" ]; then
  count="$(listed "$filter" | grep -cv 'DISABLED_' || true)"
  if [ "$count" = 0 ]; then
    echo "run_conformance: the filter $filter selects no test" >&2
    exit 1
  fi
  echo "run_conformance: the $backend half, $count tests"
fi
if [ "$backend" = sqlite ]; then
  orphans="$(listed "-$sqlite_filter:$postgres_filter")"
  if [ -n "$orphans" ]; then
    echo "run_conformance: these tests are in neither half (name them */Sqlite, */Postgres," \
      "SqliteOnly.* or PostgresOnly.*):" >&2
    echo "$orphans" >&2
    exit 1
  fi
  exec "$test_bin" --gtest_filter="$filter" "$@"
fi

dir="$(mktemp -d /tmp/drosera-pg-XXXXXX)"
trap '"$here/pg_server.sh" stop "$dir"' EXIT
if ! conninfo="$("$here/pg_server.sh" start "$dir" --fast)"; then
  echo "run_conformance: PostgreSQL did not start: the PostgreSQL half of the suite FAILS" >&2
  exit 1
fi
echo "run_conformance: PostgreSQL at $conninfo"
if [ -n "$filter" ]; then
  DROSERA_PG_CONNINFO="$conninfo" "$test_bin" --gtest_filter="$filter" "$@"
else
  DROSERA_PG_CONNINFO="$conninfo" "$test_bin" "$@"
fi
