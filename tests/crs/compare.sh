#!/usr/bin/env bash
# The CRS project's regression tests against drosera and against nginx + ModSecurity-nginx
# running exactly the same rules (`drosera rules show`), both at paranoia level 4.
# Fails unless drosera's pass rate is at least nginx's. Loopback only.
#   tests/crs/compare.sh <path to drosera binary> [work dir]
set -euo pipefail
BIN="$(realpath "${1:?usage: compare.sh DROSERA_BIN [WORKDIR]}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${2:-$(mktemp -d /tmp/drosera-crs-XXXXXX)}"
mkdir -p "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
cat > "$WORK/drosera.toml" <<CONF
[server]
bind = ["127.0.0.1"]
[[server.listener]]
port = $PORT
kind = "real"
[engine]
paranoia_level = 4
[limits]
max_keepalive_requests = 100000
[event_log]
fsync = "never"
CONF
"$BIN" rules show --config "$WORK/drosera.toml" --data-dir "$WORK/data" > "$WORK/rules.conf"

cleanup() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
  "$HERE/nginx_peer.sh" stop --dir "$WORK/nginx" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$BIN" sensor --config "$WORK/drosera.toml" --data-dir "$WORK/data" > "$WORK/drosera.out" 2> "$WORK/drosera.err" &
DPID=$!
"$HERE/nginx_peer.sh" start --dir "$WORK/nginx" --rules "$WORK/rules.conf" > "$WORK/nginx.out"
NPORT=$(cat "$WORK/nginx/port")
for i in $(seq 1 100); do
  grep -q '"running":true' "$WORK/data/status.json" 2>/dev/null && break
  sleep 0.1
done

# Both at once: most of a run is waiting for audit records, not work.
python3 "$HERE/run_crs_tests.py" --port "$NPORT" --log "$WORK/nginx/audit.log" \
  --log-wait 1.5 --json-out "$WORK/nginx.json" > "$WORK/nginx.txt" 2>&1 &
NRUN=$!
python3 "$HERE/run_crs_tests.py" --port "$PORT" --log "$WORK/data/events/event.log" \
  --log-wait 1.5 --json-out "$WORK/drosera.json" > "$WORK/drosera.txt" 2>&1 || true
wait "$NRUN" || true
kill -0 "$DPID" || { echo "drosera died during the CRS tests"; cat "$WORK/drosera.err"; exit 1; }

python3 - "$WORK" <<'PY'
import json, sys, collections
work = sys.argv[1]
def rate(name):
    txt = open(f"{work}/{name}.txt").read()
    line = [l for l in txt.splitlines() if l.startswith("PASS RATE:")][-1]
    total = [l for l in txt.splitlines() if l.startswith("TOTAL tests:")][-1]
    frac = line.split("(")[1].split()[0]
    passed, evaluated = map(int, frac.split("/"))
    return passed, evaluated, total
dp, de, dt = rate("drosera")
np_, ne, nt = rate("nginx")
print(f"CRS regression tests at paranoia level 4 (same rules, `drosera rules show`):")
print(f"  drosera:                  {dp}/{de} = {100*dp/de:.1f}%   ({dt})")
print(f"  nginx + ModSecurity-nginx: {np_}/{ne} = {100*np_/ne:.1f}%   ({nt})")
print(f"  ratio drosera/nginx: {dp/de/(np_/ne):.3f}")
sys.exit(0 if dp * ne >= np_ * de else 1)
PY
