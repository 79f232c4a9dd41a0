"""Collection (issue 4): drosera run end to end through the JSON API, kill -9 of the sensor and
of the collector mid-stream, the real mlogc client, tailing real Apache and nginx audit logs."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import (BIN, SOURCE, Drosera, RunOnDefaults, default_config, header, marked,
                     parse_response)

DATA = os.path.join(SOURCE, "tests", "data")


def blast(port, marker, total, connections=4):
    """`total` keep-alive GETs (SQL injection in the query) over `connections` sockets."""
    per = total // connections
    answered = [0]
    lock = threading.Lock()

    def worker(w):
        try:
            run(w)
        except OSError:
            pass  # the server was killed under us

    def run(w):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            send(s, w)

    def send(s, w):
        buf = b""
        for i in range(per):
            s.sendall(b"GET /index.html?w=%d&i=%d&id=1%%27%%20or%%201=1-- HTTP/1.1\r\nHost: localhost\r\n"
                      b"X-Test-Marker: %s\r\n\r\n" % (w, i, marker.encode()))
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            n = int(parse_response(head + b"\r\n\r\n")[1].get("content-length", 0))
            while len(rest) < n:
                chunk = s.recv(65536)
                if not chunk:
                    return
                rest += chunk
            buf = rest[n:]
            with lock:
                answered[0] += 1

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(connections)]
    for t in threads:
        t.start()
    return threads, answered


def count_marked(d, marker):
    """Events with the marker in the store, and whether any is stored twice."""
    ids = []
    cursor = ""
    while True:
        page = d.api("/api/v1/events?limit=1000&q=%s%s" % (
            urllib.parse.quote("/index.html?w="), "&cursor=" + cursor if cursor else ""))
        for e in page["events"]:
            ids.append(e["unique_id"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return len(ids), len(set(ids))


class RunEndToEndTest(RunOnDefaults):
    def test_attacks_reach_the_store_and_the_api(self):
        d = self.d
        d.request("GET", "/products.php?id=1%27%20OR%201=1--", marker="e2e-sqli")
        d.request("GET", "/.env", marker="e2e-trap")
        d.request("GET", "/", port=d.fake, marker="e2e-fake",
                  headers={"User-Agent": "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)"})
        page = d.wait_api("/api/v1/events?rule=942100", lambda p: len(p["events"]) >= 1)
        ev = page["events"][0]
        self.assertEqual(ev["uri"], "/products.php?id=1%27%20OR%201=1--")
        self.assertIn("attack-sqli", ev["categories"])
        self.assertEqual(ev["sensor"], d.status()["sensor"])
        full = d.api("/api/v1/events/%s" % ev["seq"])
        self.assertIn(942100, [r["id"] for r in full["rules"]])
        self.assertIn("e2e-sqli", json.dumps(full["request_headers"]))
        raw = json.loads(full["raw_record"])
        self.assertEqual(raw["transaction"]["unique_id"], ev["unique_id"])
        traps = d.wait_api("/api/v1/events?trap=sensitive_file", lambda p: p["events"])
        self.assertEqual(traps["events"][0]["traps"][0]["bait"], "/.env")
        fake = d.wait_api("/api/v1/events?trap=fake_port", lambda p: p["events"])
        self.assertEqual(fake["events"][0]["dst_port"], d.fake)
        attacker = d.api("/api/v1/attackers/127.0.0.1")
        self.assertTrue(attacker["flagged"])
        self.assertIn("sensitive_file", attacker["traps"])
        top = d.api("/api/v1/stats/top?dim=rule&limit=50")
        self.assertIn("942100", [i["key"] for i in top["items"]])
        ports = d.api("/api/v1/stats/top?dim=port")
        self.assertIn(str(d.fake), [i["key"] for i in ports["items"]])
        timeline = d.api("/api/v1/stats/timeline?bucket=60&from=%d" % (time.time() - 3600))
        self.assertGreaterEqual(sum(b["count"] for b in timeline["buckets"]), 3)
        self.assertFalse(timeline["partial"])
        # An aggregate that scans the events (a filter other than time) stops at `scan` events,
        # newest first, and says how far back it counted.
        for path in ("/api/v1/stats/top?dim=uri&q=/&scan=1",
                     "/api/v1/stats/timeline?bucket=3600&q=/&scan=1",
                     "/api/v1/stats/timeline?bucket=90&from=%d&to=%d&scan=1" % (time.time() - 3600, time.time() + 3600)):
            one = d.api(path)
            self.assertTrue(one["partial"], path)
            self.assertEqual(sum(i["count"] for i in one.get("items", one.get("buckets", []))), 1, path)
            self.assertTrue(one["searched_until"].endswith("Z"), path)
        for _ in range(5):  # the same store on both sides of the calls (events may still arrive)
            before = d.api("/api/v1/events?limit=1")["events"][0]["seq"]
            one = d.api("/api/v1/stats/top?dim=uri&q=/&scan=1")
            full = d.api("/api/v1/stats/top?dim=uri&q=/&limit=100")
            everything = d.api("/api/v1/events?limit=500")["events"]
            if everything[0]["seq"] == before:
                break
        self.assertGreaterEqual(len(everything), 3)
        self.assertEqual(one["searched_until_us"], everything[0]["time_us"])
        self.assertEqual(one["items"][0]["key"], everything[0]["uri"].split("?")[0])
        self.assertFalse(full["partial"])
        self.assertEqual(sum(i["count"] for i in full["items"]), len(everything))
        d.api("/api/v1/stats/top?dim=uri&q=/&scan=lots", expect=400)
        sensors = d.wait_api("/api/v1/sensors", lambda p: p["sensors"] and p["sensors"][0]["last_seen"])
        self.assertEqual(sensors["sensors"][0]["sensor"], d.status()["sensor"])

    def test_hostile_query_parameters_get_a_400_not_a_hang(self):
        d = self.d
        seq = d.wait_api("/api/v1/events", lambda p: p["events"])["events"][0]["seq"]
        # Times past the year 5138 (they used to overflow the bucket count into a loop over
        # 1e11 buckets), negative or absurd offsets, seqs with trailing bytes.
        for path in ("/api/v1/stats/timeline?from=100000000000000000000&to=2000000000&bucket=60",
                     "/api/v1/stats/timeline?from=1&to=99999999999999&bucket=60",
                     "/api/v1/events?from=1e300",
                     "/api/v1/attackers?offset=-1",
                     "/api/v1/attackers?offset=99999999999", "/api/v1/attackers?scan=lots",
                     # Numbers are all digits: "12abc" was rule 12, "-1" wrapped to 2^64 - 1.
                     "/api/v1/events?rule=12abc", "/api/v1/events?rule=-5", "/api/v1/events?cursor=-1",
                     "/api/v1/events?cursor=0", "/api/v1/events?scan=-1",
                     "/api/v1/stats/timeline?bucket=3600abc"):
            self.assertEqual(d.api(path, expect=400)["error"][:1] != "", True, path)
        for path in ("/api/v1/events/%sabc" % seq, "/api/v1/events/%s%%22;x=1/raw" % seq,
                     "/api/v1/events/-1", "/api/v1/events/99999999999999999999999"):
            d.api(path, expect=404)
        # The raw download names the file by the seq alone, and is not cached.
        import urllib.request
        req = urllib.request.Request(d.api_url() + "/api/v1/events/%s/raw" % seq)
        req.add_header("Authorization", "Bearer " + d.api_token())
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.headers["Content-Disposition"], 'attachment; filename="event-%s.raw"' % seq)
            self.assertEqual(r.headers["Cache-Control"], "no-store")
        # The server's own error pages on this port carry the dashboard's security headers too.
        api_port = int(d.api_url().rsplit(":", 1)[1])
        out = d.raw(b"GET /api/v1/events HTTP/1.1\r\nBad Header\r\n\r\n", port=api_port)
        status, headers, _ = parse_response(out)
        self.assertEqual(status, 400)
        self.assertIn("default-src 'none'", headers.get("content-security-policy", ""))
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        # One end only: the buckets that have events, at most 10,000 of them.
        self.assertIn("buckets", d.api("/api/v1/stats/timeline?bucket=60&from=1"))

    def test_every_route_needs_the_token(self):
        for path in ("/api/v1/events", "/api/v1/attackers", "/api/v1/sensors", "/api/v1/status",
                     "/api/v1/stats/top?dim=rule"):
            self.assertEqual(self.d.api(path, token=False, expect=401)["error"][:6], "an API")
            self.d.api(path, token="wrong-token-0123456789", expect=401)

    def test_ingest_refuses_unknown_sensors_and_is_bound_to_loopback(self):
        import urllib.request, urllib.error
        req = urllib.request.Request(self.d.api_url() + "/api/v1/ingest", data=b"{}\n",
                                     headers={"Authorization": "Bearer nope"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 401)
        self.assertTrue(self.d.api_url().startswith("http://127.0.0.1:"))


class NothingLostTest(unittest.TestCase):
    """kill -9 in the middle of a stream of thousands of events: every answered request is in the
    store exactly once after the restart."""

    def test_kill_9_of_drosera_run(self):
        d = Drosera(default_config(), command="run").start()
        try:
            threads, answered = blast(d.real, "k9run", 3000)
            time.sleep(0.5)
            d.kill()  # the stream breaks here; the clients see their connections close
            for t in threads:
                t.join(timeout=5)
            time.sleep(0.5)
            n_answered = answered[0]
            self.assertGreater(n_answered, 100)
            d.start()
            # Every answered request: in the store, once.
            deadline = time.time() + 120
            while time.time() < deadline:
                n, distinct = count_marked(d, "k9run")
                if n >= n_answered:
                    break
                time.sleep(0.5)
            self.assertGreaterEqual(n, n_answered)
            self.assertEqual(n, distinct, "an event is stored twice")
        finally:
            d.cleanup()

    def test_kill_9_of_the_collector_and_of_the_sensor(self):
        token = "sensor-token-0123456789abcdef"
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        # A fixed port: the restarted collector must be where the sensor ships to.
        collector = Drosera(default_config('[collector]\nlisten = "127.0.0.1:%d"\n' % port) +
                            '\n[[collector.sensor]]\nname = "k9-sensor"\ntoken = "%s"\n' % token,
                            command="collector")
        collector.start()
        try:
            url = collector.api_url()
            sensor = Drosera(default_config(
                '[sensor]\nid = "k9-sensor"\n[shipper]\nenabled = true\nurl = "%s/api/v1/ingest"\ntoken = "%s"\n'
                % (url, token)))
            sensor.start()
            try:
                threads, answered = blast(sensor.real, "k9split", 3000)
                time.sleep(0.5)
                collector.kill()
                time.sleep(1.0)
                collector.start()
                time.sleep(0.5)
                sensor.kill()
                for t in threads:
                    t.join(timeout=5)
                n_answered = answered[0]
                time.sleep(0.5)
                sensor.start()
                deadline = time.time() + 120
                n = distinct = 0
                while time.time() < deadline:
                    n, distinct = count_marked(collector, "k9split")
                    if n >= n_answered:
                        break
                    time.sleep(0.5)
                self.assertGreater(n_answered, 100)
                self.assertGreaterEqual(n, n_answered)
                self.assertEqual(n, distinct, "an event is stored twice")
            finally:
                sensor.cleanup()
        finally:
            collector.cleanup()


class PackedShippingTest(unittest.TestCase):
    """A sensor packs its batches (parsed and compressed with the collector's dictionary) once the
    collector hands one out: every event arrives once and whole, and far fewer bytes go."""

    def test_sensor_packs_once_the_collector_has_a_dictionary(self):
        token = "packing-sensor-token-0123456789"
        collector = Drosera(default_config() +
                            '\n[[collector.sensor]]\nname = "packer"\ntoken = "%s"\n' % token,
                            command="collector")
        collector.start()
        try:
            url = collector.api_url()

            def call(method, path, body=None, auth=token, content_type=None):
                req = urllib.request.Request(url + path, data=body, method=method)
                if auth:
                    req.add_header("Authorization", "Bearer " + auth)
                if content_type:
                    req.add_header("Content-Type", content_type)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        return r.status, dict(r.headers), r.read()
                except urllib.error.HTTPError as e:
                    return e.code, dict(e.headers), e.read()

            # No dictionary before the collector has trained one; sensors' tokens only.
            self.assertEqual(call("GET", "/api/v1/ingest/dictionary")[0], 404)
            self.assertEqual(call("GET", "/api/v1/ingest/dictionary", auth="wrong")[0], 401)
            packed_type = "application/vnd.drosera.packed"
            for bad in (b"", b"not packed", b"DRP1\x01\x05abc", b"DRP1\x09"):
                status, _, body = call("POST", "/api/v1/ingest", bad, content_type=packed_type)
                self.assertEqual(status, 400, (bad, body))
                self.assertIn(b"packed batch", body)
            sensor = Drosera(default_config(
                '[sensor]\nid = "packer"\n[shipper]\nenabled = true\nurl = "%s/api/v1/ingest"\n'
                'token = "%s"\nbatch_events = 100\n' % (url, token)))
            sensor.start()
            try:
                # The collector trains its dictionary on its first 500 events; the sensor learns
                # of it from an ingest answer and packs from then on.
                threads, answered = blast(sensor.real, "packed", 2000, connections=25)
                for t in threads:
                    t.join(timeout=60)
                self.assertEqual(answered[0], 2000)
                deadline = time.time() + 60
                n = distinct = 0
                while time.time() < deadline:
                    n, distinct = count_marked(collector, "packed")
                    if n >= 2000:
                        break
                    time.sleep(0.5)
                self.assertEqual(n, 2000)
                self.assertEqual(distinct, 2000, "an event is stored twice")
                shipper = {}
                while time.time() < deadline:
                    shipper = sensor.status().get("shipper", {})
                    if shipper.get("events", 0) >= 2000:
                        break
                    time.sleep(0.5)
                self.assertGreater(shipper.get("packed_batches", 0), 5, shipper)
                self.assertLess(shipper["sent_bytes"] * 4, shipper["bytes"] * 3, shipper)
                # Packed events read back whole: the record as the sensor logged it, the
                # headers, and the sensor's name the token gives.
                logged = {e["transaction"]["unique_id"]: e for e in sensor.all_events()}
                page = collector.api("/api/v1/events?limit=20&q=" +
                                     urllib.parse.quote("/index.html?w="))
                self.assertEqual(len(page["events"]), 20)
                for summary in page["events"]:
                    full = collector.api("/api/v1/events/%d" % summary["seq"])
                    self.assertEqual(full["sensor"], "packer")
                    self.assertEqual(json.loads(full["raw_record"]), logged[full["unique_id"]])
                    self.assertIn(["X-Test-Marker", "packed"], full["request_headers"])
                    self.assertTrue(any(r["id"] == 942100 for r in full["rules"]), full["rules"])
                status, headers, dictionary = call("GET", "/api/v1/ingest/dictionary")
                self.assertEqual(status, 200)
                self.assertGreater(int(headers["X-Drosera-Dictionary-Id"]), 0)
                self.assertGreater(len(dictionary), 1000)
                # A packed event whose body is not a zstd frame of the store's: refused whole.
                detail = b"\x00" * 3
                status, _, body = call("POST", "/api/v1/ingest",
                                       b"DRP1\x01\x03" + detail + b"\x02\x01\x02",
                                       content_type=packed_type)
                self.assertEqual(status, 400, body)
            finally:
                sensor.cleanup()
        finally:
            collector.cleanup()


class MlogcTest(unittest.TestCase):
    """The real mlogc 2.9.7 (Debian libapache2-mod-security2) fed a ModSecurity v2 concurrent
    audit log delivers every entry once; its queue is empty at the end."""

    def test_real_mlogc_delivers_every_entry_once(self):
        if not os.path.exists("/usr/bin/mlogc"):
            self.fail("mlogc is missing: scripts/install-deps.sh test installs libapache2-mod-security2")
        # [[collector.mlogc]] is an array of tables: it goes after the generated sections.
        cfg = default_config() + '\n[[collector.mlogc]]\nuser = "apache-1"\npassword = "mlogc-secret"\n'
        collector = Drosera(cfg, command="collector").start()
        work = tempfile.mkdtemp(prefix="drosera-mlogc-")
        try:
            storage = os.path.join(work, "data")
            shutil.copytree(os.path.join(DATA, "modsec2_concurrent"), storage)
            with open(os.path.join(DATA, "modsec2_index.log")) as f:
                index = f.read()
            entries = [l for l in index.splitlines() if l.strip()]
            url = collector.api_url() + "/rpc/auditLogReceiver"
            conf = os.path.join(work, "mlogc.conf")
            with open(conf, "w") as f:
                f.write("""CollectorRoot "%s"
ConsoleURI "%s"
SensorUsername "apache-1"
SensorPassword "mlogc-secret"
LogStorageDir "data"
TransactionLog "mlogc-transaction.log"
QueuePath "mlogc-queue.log"
ErrorLog "mlogc-error.log"
LockFile "mlogc.lck"
KeepEntries 0
ErrorLogLevel 3
MaxConnections 2
MaxWorkerRequests 1000
TransactionDelay 0
StartupDelay 0
CheckpointInterval 1
ServerErrorTimeout 2
""" % (work, url))
            p = subprocess.Popen(["/usr/bin/mlogc", conf], stdin=subprocess.PIPE, cwd=work)
            p.stdin.write(index.encode())
            p.stdin.flush()
            deadline = time.time() + 60
            while time.time() < deadline:
                left = sum(len(files) for _, _, files in os.walk(storage))
                if left == 0:
                    break
                time.sleep(0.5)
            time.sleep(2.5)  # one more checkpoint
            p.stdin.close()
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
            left = sum(len(files) for _, _, files in os.walk(storage))
            self.assertEqual(left, 0, "mlogc kept entries: the collector did not answer 200")
            with open(os.path.join(work, "mlogc-queue.log")) as f:
                queue = [l for l in f.read().splitlines()[1:] if l.strip() and not l.startswith("#")]
            self.assertEqual(queue, [], "mlogc's queue is not empty")
            page = collector.api("/api/v1/events?sensor=apache-1&limit=1000")
            ids = [e["unique_id"] for e in page["events"]]
            self.assertEqual(len(ids), len(entries))
            self.assertEqual(len(set(ids)), len(entries))
            self.assertTrue(any(942100 in [r["id"] for r in e["rules"]] for e in page["events"]))
        finally:
            collector.cleanup()
            shutil.rmtree(work, ignore_errors=True)

    def test_bodies_are_refused_before_they_are_read(self):
        """Unknown senders and oversized entries get their answer as soon as the head is in:
        the collector buffers none of the body (it could be 32 MiB per connection)."""
        cfg = default_config() + '\n[[collector.mlogc]]\nuser = "apache-1"\npassword = "mlogc-secret"\n'
        collector = Drosera(cfg, command="collector").start()
        try:
            port = int(collector.api_url().rsplit(":", 1)[1])
            good = "Basic " + base64.b64encode(b"apache-1:mlogc-secret").decode()
            bad = "Basic " + base64.b64encode(b"apache-1:wrong").decode()

            def head_only(method, path, length, auth=None):
                """Sends a head announcing `length` body bytes, none of them; the status."""
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                try:
                    req = "%s %s HTTP/1.1\r\nHost: c\r\nContent-Length: %d\r\n" % (method, path, length)
                    if auth:
                        req += "Authorization: %s\r\n" % auth
                    s.sendall((req + "\r\n").encode())
                    answer = s.recv(4096).decode("latin-1")  # times out if the body is awaited
                    return int(answer.split(" ", 2)[1])
                finally:
                    s.close()

            self.assertEqual(head_only("PUT", "/rpc/auditLogReceiver", 1000000, bad), 401)
            self.assertEqual(head_only("PUT", "/rpc/auditLogReceiver", 1000000), 401)
            # Over collector.max_batch_bytes (32 MiB): 409, which mlogc drops (a 413 it would
            # retry forever).
            self.assertEqual(head_only("PUT", "/rpc/auditLogReceiver", 64 << 20, good), 409)
            self.assertEqual(head_only("POST", "/api/v1/ingest", 1000000, "Bearer nope"), 401)
            self.assertEqual(head_only("POST", "/api/v1/status", 1000000), 413)
            stats = collector.api("/api/v1/status")["stats"]
            self.assertGreaterEqual(stats["auth_failures"], 3, stats)
            self.assertEqual(stats["mlogc_rejected"], 1, stats)
        finally:
            collector.cleanup()


if __name__ == "__main__":
    unittest.main()
