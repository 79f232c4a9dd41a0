#!/usr/bin/env bash
# A private PostgreSQL 15 server for the store's conformance suite and benchmark.
#
#   pg_server.sh start DIR [--fast]   initdb into DIR, start on 127.0.0.1 (a free port) and a unix
#                                     socket in DIR (trust auth, loopback only), create the
#                                     database "drosera", print its libpq conninfo (also DIR/conninfo)
#   pg_server.sh stop DIR             stop the server and remove DIR
#
# --fast turns fsync and synchronous commit off (tests only: a crash loses the database, which
# is thrown away anyway). PostgreSQL refuses to run as root: as root the server runs as the
# `postgres` user (created by the Debian package) and DIR is handed to it.
# Exits non-zero, loudly, when the server cannot start: the PostgreSQL half of the suite must
# fail, not skip.
set -euo pipefail

BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
usage() { echo "usage: $0 start DIR [--fast] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"
dir="$2"
fast=0
[ "${3:-}" = "--fast" ] && fast=1

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    if [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
      echo "pg_server: no PostgreSQL binaries in $BIN (apt-get install postgresql, or set PG_BIN)" >&2
      exit 1
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
      echo "pg_server: running as root and there is no 'postgres' user to run the server as" >&2
      exit 1
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ ${#dir} -gt 80 ]; then
      echo "pg_server: $dir is too long for a unix socket path; use a shorter folder" >&2
      exit 1
    fi
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    if ! as_pg "$BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1; then
      echo "pg_server: initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=100"
    opts="$opts -c shared_buffers=256MB -c max_wal_size=2GB"
    if [ $fast -eq 1 ]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    started=0
    for attempt in 1 2 3 4 5; do
      port="$(free_port)"
      if as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
          -o "$opts -c port=$port" start >/dev/null 2>&1; then
        started=1
        break
      fi
    done
    if [ $started -eq 0 ]; then
      echo "pg_server: the server did not start; its log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
    if ! as_pg "$BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE DATABASE drosera" >/dev/null; then
      echo "pg_server: could not create the database" >&2
      as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      exit 1
    fi
    conninfo="host=127.0.0.1 port=$port user=postgres dbname=drosera"
    echo "$conninfo" >"$dir/conninfo"
    echo "$conninfo"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
