"""Tailing real ModSecurity audit logs (issue 4): Apache 2.4 + mod_security2 (v2 JSON, serial)
and nginx + ModSecurity-nginx / libmodsecurity 3 (v3 JSON, serial), both with the CRS 3.3.4 in
DetectionOnly and SecAuditEngine On, are sent the same requests; `drosera collector` follows
both logs (format auto). For every request the set of rule ids in the stored event equals the
set the server itself wrote (949110 and, for Apache, 980130 included), across a rename rotation
of the Apache log (apache2 -k graceful), a copytruncate of the nginx log, a restart of the
collector (SIGTERM) and a kill -9 of it mid-stream: every request is stored exactly once.

Server setup as in tests/data/make_fixtures.sh (Debian packages apache2,
libapache2-mod-security2, nginx, libnginx-mod-http-modsecurity, modsecurity-crs)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import SOURCE, Drosera, default_config, free_port, wait_port

APACHE = "/usr/sbin/apache2"
NGINX = "/usr/sbin/nginx"
MODS = "/usr/lib/apache2/modules"
NGINX_MODULE = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so"
CRS_SETUP = "/etc/modsecurity/crs/crs-setup.conf"
CRS_RULES = "/usr/share/modsecurity-crs/rules"
UNICODE_MAP = "/etc/modsecurity/unicode.mapping"
# The servers write local time: Apache with its zone (v2), libmodsecurity without one (v3).
APACHE_TZ = "America/New_York"
NGINX_TZ, NGINX_UTC_OFFSET_MIN = "Asia/Kolkata", 330

UA = b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HOST = b"shop.example.com"
MARKER = "X-Test-Marker"


def req(head, body=b""):
    return head.replace(b"\n", b"\r\n") + b"\r\n" + body


def requests_for(tag):
    """The requests of tests/data/fixture_requests.py, each with a marker header naming it:
    [(marker, kind, raw bytes)]."""
    m = lambda kind: ("%s-%s" % (tag, kind)).encode()
    mk = lambda kind: b"\n" + MARKER.encode() + b": " + m(kind)
    out = [
        ("benign", req(b"GET /index.html HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
                       b"\nAccept: text/html" + mk("benign") + b"\nConnection: close\n")),
        # SQL injection: 942100 (libinjection) and friends
        ("sqli", req(b"GET /products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20"
                     b"users--%20 HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA + mk("sqli") +
                     b"\nConnection: close\n")),
        # XSS in a form body: 941xxx
        ("xss-post", req(b"POST /comment.php HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
                         b"\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 52" +
                         mk("xss-post") + b"\nConnection: close\n",
                         b"name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E")),
        # scanner User-Agent (913100), header names in lower case
        ("scanner", req(b"GET /admin/ HTTP/1.1\nhost: " + HOST + b"\nuser-agent: Mozilla/5.00 "
                        b"(Nikto/2.1.6) (Evasions:None) (Test:000003)\nx-test-marker: " +
                        m("scanner") + b"\nconnection: close\n")),
        # path traversal: 930xxx
        ("traversal", req(b"GET /download.php?file=../../../../etc/passwd HTTP/1.1\nHost: " + HOST +
                          b"\nUser-Agent: " + UA + mk("traversal") + b"\nConnection: close\n")),
        # bytes that are not UTF-8 in the target and in a header value
        ("non-utf8", req(b"GET /caf\xe9.php?q=\xff\xfe%C0%AF HTTP/1.1\nHost: " + HOST +
                         b"\nUser-Agent: " + UA + b"\nX-Note: d\xe9j\xe0 vu" + mk("non-utf8") +
                         b"\nConnection: close\n")),
        # XSS whose value forges the audit log's [id "..."] metadata
        ("xss-forged", req(b"GET /search.php?q=%3Cscript%3E%22%5D%20%5Bid%20%22999999%22%5D%20"
                           b"%5Bseverity%20%22EMERGENCY%22%5D%20%5Bmsg%20%22forged%3C%2Fscript%3E "
                           b"HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA + mk("xss-forged") +
                           b"\nConnection: close\n")),
        # XSS in the path with a raw quote
        ("xss-path", req(b"GET /search/\"><script>alert(1)</script> HTTP/1.1\nHost: " + HOST +
                         b"\nUser-Agent: " + UA + mk("xss-path") + b"\nConnection: close\n")),
    ]
    return [("%s-%s" % (tag, kind), kind, raw) for kind, raw in out]


def send(port, raw):
    """One request on its own connection; returns the status code (0: no answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else 0


def children(pid):
    """Pids of the live child processes of `pid`."""
    out = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(name))
    return out


def stop_group(proc, sig, timeout=20):
    """Stops a server started in its own session (its pid is its process group)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # workers that outlived their parent
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=timeout)


# ------------------------------------------------------------------------------- audit logs
V2_TOKEN = re.compile(r'\[(\w+) "((?:[^"\\]|\\.)*)"\]')


def header_value(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def read_jsonl(paths):
    """Every line of the files, in order, parsed as JSON (raw non-UTF-8 bytes kept as
    surrogates: the servers write the attacker's bytes as they came)."""
    out = []
    for p in paths:
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line.decode("utf-8", "surrogateescape")))
    return out


def v2_entries(paths):
    """{unique_id: (marker, [rule ids], uri, record)} of mod_security2 JSON records: one id per
    audit_data.messages string, its [id "..."] token (a forged one in [data] is escaped as \\x22
    and so inside the data token)."""
    out = {}
    for r in read_jsonl(paths):
        uid = r["transaction"]["transaction_id"]
        ids = []
        for m in r.get("audit_data", {}).get("messages", []):
            toks = [v for k, v in V2_TOKEN.findall(m) if k == "id"]
            assert len(toks) == 1, "a v2 message with %d ids: %s" % (len(toks), m[:300])
            ids.append(int(toks[0]))
        line = r["request"]["request_line"].split(" ")
        uri = " ".join(line[1:-1])
        assert uid not in out, "Apache wrote %s twice" % uid
        out[uid] = (header_value(r["request"]["headers"], MARKER), ids, uri, r)
    return out


def v3_entries(paths):
    """{unique_id: (marker, [rule ids], uri, record)} of libmodsecurity JSON records."""
    out = {}
    for r in read_jsonl(paths):
        t = r["transaction"]
        uid = t["unique_id"]
        ids = [int(m["details"]["ruleId"]) for m in t.get("messages", [])]
        assert uid not in out, "nginx wrote %s twice" % uid
        out[uid] = (header_value(t["request"]["headers"], MARKER), ids, t["request"]["uri"], r)
    return out


class TailingTest(unittest.TestCase):
    def setUp(self):
        for f in (APACHE, NGINX, MODS + "/mod_security2.so", NGINX_MODULE, CRS_SETUP, UNICODE_MAP):
            if not os.path.exists(f):
                self.fail("%s is missing: scripts/install-deps.sh test installs the servers" % f)
        self.tmp = tempfile.mkdtemp(prefix="drosera-tail-")
        os.chmod(self.tmp, 0o755)
        self.apache = self.nginx = self.collector = None
        self.sent = {"apache": {}, "nginx": {}}  # marker -> (kind, time sent, status)
        self.files = []
        self.addCleanup(self.cleanup)
        self.start_apache()
        self.start_nginx()

    def cleanup(self):
        if self.collector:
            self.collector.cleanup()
        stop_group(self.apache, signal.SIGTERM)
        stop_group(self.nginx, signal.SIGQUIT)
        for f in self.files:
            f.close()
        if os.environ.get("DROSERA_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- servers ---------------------------------------------------------------------------
    def output(self, path):
        f = open(path, "wb")
        self.files.append(f)
        return f

    def start_apache(self):
        d = self.apache_dir = os.path.join(self.tmp, "apache")
        for sub in ("htdocs", "run", "tmp"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, "tmp"), 0o777)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "htdocs", "index.html"), "w") as f:
            f.write("<!DOCTYPE html>\n<html><head><title>Shop</title></head>"
                    "<body><h1>Welcome</h1></body></html>\n")
        self.apache_port = free_port()
        self.apache_log = os.path.join(d, "audit.log")
        self.apache_conf = os.path.join(d, "httpd.conf")
        user = "User www-data\nGroup www-data\n" if os.getuid() == 0 else ""
        with open(self.apache_conf, "w") as f:
            f.write("""ServerRoot "{d}"
DefaultRuntimeDir "{d}/run"
PidFile "{d}/httpd.pid"
Listen 127.0.0.1:{port}
ServerName shop.example.com
{user}LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule dir_module {mods}/mod_dir.so
LoadModule mime_module {mods}/mod_mime.so
LoadModule unique_id_module {mods}/mod_unique_id.so
LoadModule security2_module {mods}/mod_security2.so
TypesConfig /etc/mime.types
ErrorLog "{d}/error.log"
LogLevel warn
DocumentRoot "{d}/htdocs"
<Directory "{d}/htdocs">
  Require all granted
</Directory>
DirectoryIndex index.html

SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecDataDir "{d}/tmp"
SecTmpDir "{d}/tmp"
SecUnicodeMapFile {umap} 20127
SecAuditEngine On
SecAuditLogParts ABCFHZ
SecAuditLogType Serial
SecAuditLogFormat JSON
SecAuditLog {log}
Include {setup}
Include {rules}/*.conf
""".format(d=d, port=self.apache_port, user=user, mods=MODS, umap=UNICODE_MAP,
           log=self.apache_log, setup=CRS_SETUP, rules=CRS_RULES))
        self.apache = subprocess.Popen(
            [APACHE, "-f", self.apache_conf, "-DFOREGROUND"],
            env=dict(os.environ, TZ=APACHE_TZ), start_new_session=True,
            stdout=self.output(os.path.join(d, "stdout.txt")), stderr=subprocess.STDOUT)
        wait_port(self.apache_port, self.apache)

    def start_nginx(self):
        d = self.nginx_dir = os.path.join(self.tmp, "nginx")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", sub))
        self.nginx_port = free_port()
        self.nginx_log = os.path.join(d, "audit.log")
        with open(os.path.join(d, "msc.conf"), "w") as f:
            f.write("""SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecUnicodeMapFile {umap} 20127
SecAuditEngine On
SecAuditLogParts ABCFHZ
SecAuditLogType Serial
SecAuditLogFormat JSON
SecAuditLog {log}
Include {setup}
Include {rules}/*.conf
""".format(umap=UNICODE_MAP, log=self.nginx_log, setup=CRS_SETUP, rules=CRS_RULES))
        user = "user root root;" if os.getuid() == 0 else ""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("""load_module {module};
{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  modsecurity on;
  modsecurity_rules_file {d}/msc.conf;
  server {{
    listen 127.0.0.1:{port} default_server;
    server_name shop.example.com;
    # a content handler behind ModSecurity so that every phase runs
    location / {{ proxy_pass http://unix:{d}/backend.sock; proxy_set_header Host $host; }}
  }}
  server {{
    listen unix:{d}/backend.sock;
    modsecurity off;
    location / {{
      default_type text/html;
      return 200 "<!DOCTYPE html>\\n<html><head><title>Shop</title></head><body><h1>Welcome</h1></body></html>\\n";
    }}
  }}
}}
""".format(module=NGINX_MODULE, user=user, d=d, port=self.nginx_port))
        self.nginx = subprocess.Popen(
            [NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf")],
            env=dict(os.environ, TZ=NGINX_TZ), start_new_session=True,
            stdout=self.output(os.path.join(d, "stdout.txt")), stderr=subprocess.STDOUT)
        wait_port(self.nginx_port, self.nginx)

    def rotate_apache(self, before_reopen=None):
        """logrotate's way: rename the log, then `apache2 -k graceful`; returns once the old
        generation of children (which hold the old file) has exited and the new log exists.
        `before_reopen` runs between the rename and the signal."""
        old = children(self.apache.pid)
        self.assertTrue(old, "apache has no children")
        os.rename(self.apache_log, self.apache_log + ".1")
        if before_reopen:
            before_reopen()
        subprocess.run([APACHE, "-f", self.apache_conf, "-k", "graceful"], check=True,
                       env=dict(os.environ, TZ=APACHE_TZ), timeout=30)
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(self.apache_log) and not (old & children(self.apache.pid)) \
                    and children(self.apache.pid):
                break
            time.sleep(0.1)
        else:
            self.fail("apache graceful restart did not finish")
        wait_port(self.apache_port, self.apache)

    def copytruncate_nginx(self):
        """logrotate's copytruncate: copy the log, then truncate it in place (libmodsecurity
        keeps its descriptor, opened with O_APPEND)."""
        shutil.copyfile(self.nginx_log, self.nginx_log + ".1")
        os.truncate(self.nginx_log, 0)

    # ---- collector -------------------------------------------------------------------------
    def start_collector(self):
        if self.collector is None:
            cfg = default_config() + """
[[collector.tail]]
path = "{a}"
format = "auto"
sensor = "apache"
[[collector.tail]]
path = "{n}"
format = "auto"
sensor = "nginx"
utc_offset_minutes = {off}
""".format(a=self.apache_log, n=self.nginx_log, off=NGINX_UTC_OFFSET_MIN)
            self.collector = Drosera(cfg, command="collector")
        self.collector.start()

    def stored(self, sensor):
        """Every stored event of `sensor`, through the API (all pages)."""
        out = []
        cursor = ""
        while True:
            page = self.collector.api("/api/v1/events?sensor=%s&limit=1000%s" % (
                sensor, "&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
            out.extend(page["events"])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def wait_stored(self, timeout=90):
        """Until the store holds as many events per sensor as requests were sent."""
        deadline = time.time() + timeout
        have = {}
        while time.time() < deadline:
            have = {s: len(self.stored(s)) for s in self.sent}
            if all(have[s] >= len(self.sent[s]) for s in self.sent):
                return
            time.sleep(0.25)
        self.fail("the store has %s events, %s requests were sent; collector status: %s" % (
            have, {s: len(v) for s, v in self.sent.items()},
            json.dumps(self.collector.api("/api/v1/status"))[:2000]))

    def check_status(self):
        """The running collector read nothing twice and rejected nothing."""
        st = self.collector.api("/api/v1/status")
        self.assertEqual(st["stats"]["duplicates"], 0,
                         "the collector re-read records already stored: %s" % json.dumps(st))
        self.assertEqual(st["stats"]["rejected"], 0, json.dumps(st))
        self.assertEqual(st["stats"]["store_errors"], 0, json.dumps(st))
        for t in st["tails"]:
            self.assertEqual(t["rejected"], 0, "tail %s rejected records: %s" % (t["path"], t))
            self.assertEqual(t["last_error"], "", t)
        return st

    # ---- requests --------------------------------------------------------------------------
    def send_set(self, tag, servers=("apache", "nginx")):
        ports = {"apache": self.apache_port, "nginx": self.nginx_port}
        for marker, kind, raw in requests_for(tag):
            for s in servers:
                self.assertNotIn(marker, self.sent[s])
                t = time.time()
                status = send(ports[s], raw)
                self.assertNotEqual(status, 0, "%s did not answer %s" % (s, marker))
                self.sent[s][marker] = (kind, t, status)
            time.sleep(0.02)

    # ---- the check -------------------------------------------------------------------------
    def verify(self):
        logs = {
            "apache": v2_entries([self.apache_log + ".1", self.apache_log]),
            "nginx": v3_entries([self.nginx_log + ".1", self.nginx_log]),
        }
        report = {}
        for server, entries in logs.items():
            sent = self.sent[server]
            # The server logged every request once (SecAuditEngine On).
            markers = sorted(m for m, _, _, _ in entries.values())
            self.assertEqual(markers, sorted(sent), "%s: audit log markers differ from the sent "
                             "requests" % server)
            events = self.stored(server)
            uids = [e["unique_id"] for e in events]
            dups = sorted({u for u in uids if uids.count(u) > 1})
            self.assertEqual(dups, [], "%s: stored more than once" % server)
            missing = sorted(entries[u][0] for u in set(entries) - set(uids))
            self.assertEqual(missing, [], "%s: logged but not stored" % server)
            self.assertEqual(sorted(set(uids) - set(entries)), [],
                             "%s: stored events the server never logged" % server)
            by_uid = {e["unique_id"]: e for e in events}
            equal = same_counts = 0
            for uid, (marker, ids, uri, _) in sorted(entries.items(), key=lambda x: x[1][0]):
                e = by_uid[uid]
                got = [r["id"] for r in e["rules"]]
                self.assertEqual(set(got), set(ids), "%s %s (%s): rule ids logged %s, stored %s" % (
                    server, marker, uid, sorted(ids), sorted(got)))
                equal += 1
                same_counts += sorted(got) == sorted(ids)
                self.assertEqual(e["sensor"], server)
                self.assertEqual(e["format"], "modsec2-json" if server == "apache" else "modsec3-json")
                if uri.isascii():
                    self.assertEqual(e["uri"], uri, "%s %s" % (server, marker))
                # The time is the server's, read in the right zone.
                sent_at = sent[marker][1]
                self.assertLess(abs(e["time_us"] / 1e6 - sent_at), 5,
                                "%s %s: stored time %s, sent at %s" % (server, marker, e["time"], sent_at))
            report[server] = {"requests": len(entries), "equal_sets": equal,
                              "equal_with_repeats": same_counts}
            # The set-up produced what it is meant to: the CRS fired on both servers.
            by_kind = {}
            for marker, ids, _, _ in entries.values():
                by_kind.setdefault(sent[marker][0], set()).update(ids)
            self.assertEqual(by_kind["benign"], set(), server)
            self.assertIn(942100, by_kind["sqli"], server)
            self.assertTrue(any(941000 <= i < 942000 for i in by_kind["xss-post"]), server)
            self.assertIn(913100, by_kind["scanner"], server)
            self.assertTrue(any(930000 <= i < 931000 for i in by_kind["traversal"]), server)
            self.assertNotIn(999999, set().union(*by_kind.values()), server)
            for kind in ("sqli", "xss-post", "scanner", "traversal"):
                self.assertIn(949110, by_kind[kind], "%s %s" % (server, kind))
                if server == "apache":
                    self.assertIn(980130, by_kind[kind], "%s %s" % (server, kind))
        print("\n  rule ids, logged vs stored: %s" % report)
        return report

    # ---- tests -----------------------------------------------------------------------------
    def test_same_rule_ids_across_rotation_and_restarts(self):
        t0 = time.time()
        self.start_collector()
        self.send_set("p1")
        self.wait_stored()

        # Rotation: Apache by rename + graceful, nginx by copytruncate.
        self.rotate_apache()
        self.copytruncate_nginx()
        time.sleep(1.0)  # the tailers see the new file and the truncation before new data
        self.send_set("p2")
        self.wait_stored()
        self.check_status()

        # Restart: requests while the collector is down are read when it comes back.
        self.assertEqual(self.collector.stop(), 0)
        self.send_set("p3")
        self.start_collector()
        self.send_set("p4")
        self.wait_stored()
        self.check_status()

        # kill -9 while the tailers are busy.
        started = threading.Event()
        errors = []

        def burst():
            try:
                for i in range(6):
                    self.send_set("k%d" % i)
                    started.set()
            except Exception as e:  # reported below
                errors.append(e)
                started.set()

        th = threading.Thread(target=burst)
        th.start()
        started.wait(60)
        time.sleep(0.3)
        at_kill = {s: (len(self.stored(s)), len(self.sent[s])) for s in self.sent}
        self.collector.kill()
        print("\n  kill -9 with (stored, sent) = %s" % at_kill)
        th.join(120)
        self.assertEqual(errors, [])
        self.start_collector()
        self.wait_stored()
        time.sleep(1.0)  # anything read twice would show now
        self.check_status()
        # The rotations happened: the rotated files hold the first requests only.
        p1 = sorted(m for m, _, _ in requests_for("p1"))
        self.assertEqual(sorted(m for m, _, _, _ in v2_entries([self.apache_log + ".1"]).values()), p1)
        self.assertEqual(sorted(m for m, _, _, _ in v3_entries([self.nginx_log + ".1"]).values()), p1)
        self.verify()
        print("  elapsed %.1fs" % (time.time() - t0))

    def test_records_written_to_the_renamed_log_before_the_reopen(self):
        """logrotate renames the log, then signals Apache: requests in between (and those that
        old children finish after the graceful restart) are written to the renamed file."""
        self.start_collector()
        self.send_set("r1", servers=("apache",))
        self.wait_stored_apache_only()

        def in_between():
            time.sleep(1.0)  # longer than the tailer's idle poll (250 ms)
            self.send_set("r2", servers=("apache",))

        self.rotate_apache(before_reopen=in_between)
        self.send_set("r3", servers=("apache",))
        self.wait_stored_apache_only()
        self.check_status()
        logs = v2_entries([self.apache_log + ".1", self.apache_log])
        self.assertEqual(sorted(m for m, _, _, _ in logs.values()), sorted(self.sent["apache"]))
        stored = {e["unique_id"]: e for e in self.stored("apache")}
        for uid, (marker, ids, _, _) in logs.items():
            self.assertIn(uid, stored, "%s logged but not stored" % marker)
            self.assertEqual(set(r["id"] for r in stored[uid]["rules"]), set(ids), marker)

    def wait_stored_apache_only(self, timeout=15):
        deadline = time.time() + timeout
        n = 0
        while time.time() < deadline:
            n = len(self.stored("apache"))
            if n >= len(self.sent["apache"]):
                return
            time.sleep(0.25)
        markers = sorted(self.sent["apache"])
        stored = {e["unique_id"] for e in self.stored("apache")}
        logs = v2_entries([self.apache_log + ".1", self.apache_log])
        missing = sorted(m for u, (m, _, _, _) in logs.items() if u not in stored)
        self.fail("apache: %d of %d requests stored; missing: %s; tail status: %s" % (
            n, len(markers), missing, self.collector.api("/api/v1/status")["tails"]))


if __name__ == "__main__":
    unittest.main()


class TailWhileDownTest(unittest.TestCase):
    """Rotation and truncation that happen while the collector is stopped."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="drosera-taildown-")
        self.log = os.path.join(self.work, "audit.log")
        with open(os.path.join(SOURCE, "tests", "data",
                               "modsec3_json.log"), "rb") as f:
            self.template = json.loads(f.readline())
        cfg = default_config() + '\n[[collector.tail]]\npath = "%s"\nsensor = "down"\n' % self.log
        self.d = Drosera(cfg, command="collector")
        self.n = 0

    def tearDown(self):
        self.d.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def write(self, path, count):
        with open(path, "ab") as f:
            for _ in range(count):
                rec = json.loads(json.dumps(self.template))
                rec["transaction"]["unique_id"] = "down-%04d" % self.n
                self.n += 1
                f.write(json.dumps(rec).encode() + b"\n")

    def stored(self, want):
        page = self.d.wait_api("/api/v1/events?sensor=down&limit=1000",
                               lambda p: len(p["events"]) >= want, timeout=30)
        time.sleep(1.0)  # nothing more may come
        ids = [e["unique_id"] for e in self.d.api("/api/v1/events?sensor=down&limit=1000")["events"]]
        return ids

    def test_copytruncate_while_down_then_regrown_past_the_position(self):
        self.write(self.log, 3)
        self.d.start()
        self.assertEqual(len(self.stored(3)), 3)
        self.d.stop()
        shutil.copy(self.log, self.log + ".1")
        open(self.log, "wb").close()  # truncated in place
        self.write(self.log, 5)       # and grown past the old position
        self.d.start()
        ids = self.stored(8)
        self.assertEqual(sorted(ids), ["down-%04d" % i for i in range(8)])

    def test_rotated_while_down_the_old_file_is_finished_first(self):
        self.write(self.log, 5)
        self.d.start()
        self.assertEqual(len(self.stored(5)), 5)
        self.d.stop()
        self.write(self.log, 2)                  # written after our last position...
        os.rename(self.log, self.log + ".1")     # ...then rotated away
        self.write(self.log, 3)
        self.d.start()
        ids = self.stored(10)
        self.assertEqual(sorted(ids), ["down-%04d" % i for i in range(10)])
