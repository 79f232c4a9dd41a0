#!/usr/bin/env bash
# Runs the Store conformance suite against SQLite and a private PostgreSQL server.
# Usage: run_conformance.sh STORE_CONFORMANCE_TEST [gtest arguments...]
set -euo pipefail
test_bin="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d /tmp/drosera-pg-XXXXXX)"
trap '"$here/pg_server.sh" stop "$dir"' EXIT
if ! conninfo="$("$here/pg_server.sh" start "$dir" --fast)"; then
  echo "run_conformance: PostgreSQL did not start: the PostgreSQL half of the suite FAILS" >&2
  exit 1
fi
echo "run_conformance: PostgreSQL at $conninfo"
DROSERA_PG_CONNINFO="$conninfo" "$test_bin" "$@"
