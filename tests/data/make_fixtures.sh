#!/usr/bin/env bash
# Makes the collector's parser fixtures from REAL servers: the same handful of requests sent to
#   - Apache 2.4 + mod_security2 2.9.7 (Debian), CRS 3.3.4, DetectionOnly, TZ=America/New_York:
#       modsec2_json.log            SecAuditLogFormat JSON,   SecAuditLogType Serial
#       modsec2_native.log          SecAuditLogFormat Native, SecAuditLogType Serial
#       modsec2_index.log           SecAuditLogType Concurrent: the index lines (mlogc's input)
#       modsec2_concurrent/<relpath> the per-transaction files those index lines name
#   - nginx 1.22 + ModSecurity-nginx 1.0.3 + libmodsecurity 3.0.9, CRS 3.3.4, DetectionOnly,
#     TZ=Asia/Kolkata (time_stamp is local time without a zone: +05:30 here):
#       modsec3_json.log            SecAuditLogFormat JSON,   Serial
#       modsec3_native.log          SecAuditLogFormat Native, Serial ("---xxxxxxxx---A--")
#       modsec3_index.log           SecAuditLogType Concurrent: the v3 index dialect
#   - drosera sensor (build/release/drosera), one real and one fake listener, the robots.txt
#     bait at /db-backup-old/ (traps.robots_path):
#       drosera_events.log          <data_dir>/events/event.log as written: the same requests,
#                                   then robots.txt, the bait with Basic credentials (a robots
#                                   trap hit) and a request on the fake port (a fake_port hit).
# Requests (tests/data/fixture_requests.py): benign GET, SQLi (942100), XSS POST (941xxx),
# scanner User-Agent with lowercase header names (913100), path traversal (930xxx), raw
# non-UTF-8 bytes in the target and a header, an XSS whose value forges [id "..."] metadata, an
# XSS in the path with a raw quote.
#
# Usage: tests/data/make_fixtures.sh [OUT_DIR]     (default: the folder of this script)
# Needs root or a user that may bind loopback ports; everything listens on 127.0.0.1 only and
# lives in a temporary folder. Not run by CI: its outputs are committed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$HERE}"
SRC="$(cd "$HERE/../.." && pwd)"
DROSERA_BIN="${DROSERA_BIN:-$SRC/build/release/drosera}"
SEND="$HERE/fixture_requests.py"
CRS_SETUP=/etc/modsecurity/crs/crs-setup.conf
CRS_RULES=/usr/share/modsecurity-crs/rules
UNICODE_MAP=/etc/modsecurity/unicode.mapping
MODS=/usr/lib/apache2/modules
NGINX_MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so

for f in /usr/sbin/apache2 /usr/sbin/nginx "$MODS/mod_security2.so" "$NGINX_MODULE" \
         "$CRS_SETUP" "$DROSERA_BIN" "$SEND"; do
  [ -e "$f" ] || { echo "make_fixtures: missing $f" >&2; exit 1; }
done

T="$(mktemp -d /tmp/drosera-fixtures.XXXXXX)"
chmod 755 "$T"
PIDS_TO_STOP=()
cleanup() {
  for p in "${PIDS_TO_STOP[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),timeout=0.2).close()" \
      2>/dev/null && return 0
    sleep 0.1
  done
  echo "make_fixtures: nothing listens on port $1" >&2; return 1
}
wait_gone() {
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -TERM "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- Apache + mod_security2
run_apache() {  # run_apache <name> <format> <type>
  local name="$1" format="$2" type="$3"
  local d="$T/apache-$name" port
  port="$(free_port)"
  mkdir -p "$d/htdocs" "$d/run" "$d/tmp" "$d/spool"
  chmod 777 "$d/tmp" "$d/spool"
  printf '<!DOCTYPE html>\n<html><head><title>Shop</title></head><body><h1>Welcome</h1></body></html>\n' \
    > "$d/htdocs/index.html"
  local userline=""
  [ "$(id -u)" = 0 ] && userline=$'User www-data\nGroup www-data'
  local auditlog="SecAuditLog $d/audit.log"
  if [ "$type" = Concurrent ]; then
    auditlog="SecAuditLog $d/index.log
SecAuditLogStorageDir $d/spool
SecAuditLogDirMode 0777
SecAuditLogFileMode 0644"
  fi
  cat > "$d/httpd.conf" <<CONF
ServerRoot "$d"
DefaultRuntimeDir "$d/run"
PidFile "$d/httpd.pid"
Listen 127.0.0.1:$port
ServerName shop.example.com
$userline
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule dir_module $MODS/mod_dir.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule unique_id_module $MODS/mod_unique_id.so
LoadModule security2_module $MODS/mod_security2.so
TypesConfig /etc/mime.types
ErrorLog "$d/error.log"
LogLevel warn
DocumentRoot "$d/htdocs"
<Directory "$d/htdocs">
  Require all granted
</Directory>
DirectoryIndex index.html

SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecDataDir "$d/tmp"
SecTmpDir "$d/tmp"
SecUnicodeMapFile $UNICODE_MAP 20127
SecAuditEngine On
SecAuditLogParts ABCFHZ
SecAuditLogType $type
SecAuditLogFormat $format
$auditlog
Include $CRS_SETUP
Include $CRS_RULES/*.conf
CONF
  TZ=America/New_York /usr/sbin/apache2 -f "$d/httpd.conf" -k start
  wait_port "$port"
  python3 "$SEND" 127.0.0.1 "$port" apache
  sleep 0.5
  local pid; pid="$(cat "$d/httpd.pid")"
  /usr/sbin/apache2 -f "$d/httpd.conf" -k stop
  wait_gone "$pid"
}

run_apache json JSON Serial
cp "$T/apache-json/audit.log" "$OUT/modsec2_json.log"
run_apache native Native Serial
cp "$T/apache-native/audit.log" "$OUT/modsec2_native.log"
run_apache concurrent Native Concurrent
cp "$T/apache-concurrent/index.log" "$OUT/modsec2_index.log"
rm -rf "$OUT/modsec2_concurrent"
mkdir -p "$OUT/modsec2_concurrent"
cp -r "$T/apache-concurrent/spool/." "$OUT/modsec2_concurrent/"

# ---------------------------------------------------------------- nginx + libmodsecurity 3
run_nginx() {  # run_nginx <name> <format> <type>
  local name="$1" format="$2" type="$3"
  local d="$T/nginx-$name" port
  port="$(free_port)"
  mkdir -p "$d/tmp/body" "$d/tmp/proxy" "$d/tmp/fastcgi" "$d/tmp/uwsgi" "$d/tmp/scgi" "$d/spool"
  local auditlog="SecAuditLog $d/audit.log"
  if [ "$type" = Concurrent ]; then
    auditlog="SecAuditLog $d/index.log
SecAuditLogStorageDir $d/spool"
  fi
  cat > "$d/msc.conf" <<CONF
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecUnicodeMapFile $UNICODE_MAP 20127
SecAuditEngine On
SecAuditLogParts ABCFHZ
SecAuditLogType $type
SecAuditLogFormat $format
$auditlog
Include $CRS_SETUP
Include $CRS_RULES/*.conf
CONF
  local userline=""
  [ "$(id -u)" = 0 ] && userline="user root root;"
  cat > "$d/nginx.conf" <<CONF
load_module $NGINX_MODULE;
$userline
worker_processes 1;
daemon on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  modsecurity on;
  modsecurity_rules_file $d/msc.conf;
  server {
    listen 127.0.0.1:$port default_server;
    server_name shop.example.com;
    # A content handler behind ModSecurity so that every phase runs (see tests/crs/nginx_peer.sh).
    location / { proxy_pass http://unix:$d/backend.sock; proxy_set_header Host \$host; }
  }
  server {
    listen unix:$d/backend.sock;
    modsecurity off;
    location / {
      default_type text/html;
      return 200 "<!DOCTYPE html>\n<html><head><title>Shop</title></head><body><h1>Welcome</h1></body></html>\n";
    }
  }
}
CONF
  # nginx keeps TZ for its workers: libmodsecurity writes time_stamp in this zone.
  TZ=Asia/Kolkata /usr/sbin/nginx -p "$d" -c "$d/nginx.conf"
  wait_port "$port"
  python3 "$SEND" 127.0.0.1 "$port" nginx
  sleep 0.5
  local pid; pid="$(cat "$d/nginx.pid")"
  kill -QUIT "$pid"
  wait_gone "$pid"
}

run_nginx json JSON Serial
cp "$T/nginx-json/audit.log" "$OUT/modsec3_json.log"
run_nginx native Native Serial
cp "$T/nginx-native/audit.log" "$OUT/modsec3_native.log"
run_nginx concurrent Native Concurrent
cp "$T/nginx-concurrent/index.log" "$OUT/modsec3_index.log"

# ---------------------------------------------------------------- drosera sensor
d="$T/drosera"
mkdir -p "$d/data"
real_port="$(free_port)"
fake_port="$(free_port)"
cat > "$d/drosera.toml" <<CONF
[general]
log_level = "warn"
[sensor]
id = "fixture-sensor-1"
[server]
bind = ["127.0.0.1"]
[inspection]
threads = 1
[event_log]
fsync = "never"
[traps]
robots_path = "/db-backup-old/"
[[server.listener]]
port = $real_port
kind = "real"
[[server.listener]]
port = $fake_port
kind = "fake"
CONF
"$DROSERA_BIN" sensor --config "$d/drosera.toml" --data-dir "$d/data" 2>"$d/sensor.log" &
sensor_pid=$!
PIDS_TO_STOP+=("$sensor_pid")
wait_port "$real_port"
wait_port "$fake_port"
python3 "$SEND" 127.0.0.1 "$real_port" drosera
python3 "$SEND" 127.0.0.1 "$fake_port" drosera-fake
want=$(( $(python3 "$SEND" --count drosera) + $(python3 "$SEND" --count drosera-fake) ))
for _ in $(seq 1 100); do
  have=$(cat "$d/data/events/event.log" 2>/dev/null | wc -l)
  [ "$have" -ge "$want" ] && break
  sleep 0.1
done
kill -TERM "$sensor_pid"
wait "$sensor_pid" || true
cp "$d/data/events/event.log" "$OUT/drosera_events.log"
# The robots.txt bait (traps.robots_path) was used with credentials: a real trap hit.
grep -q '"traps":\[{"kind":"robots","bait":"/db-backup-old/","captured":"admin:hunter2"' \
  "$OUT/drosera_events.log" || { echo "make_fixtures: no robots trap hit" >&2; exit 1; }
chmod -R u+rwX,go+rX "$OUT"/*.log "$OUT/modsec2_concurrent"
echo "make_fixtures: wrote fixtures to $OUT"
ls -l "$OUT"
