"""Survive hostile conditions (issue 8): a full disk under drosera run and under a collector,
least privilege (drop to an unprivileged user after binding a privileged port), private file
modes, and no outbound connection except to the collector.

The disk-full and privilege tests need root (to mount a small tmpfs and to bind port < 1024);
without it they are skipped with the reason printed."""
import json
import os
import shutil
import tempfile
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import SOURCE, Drosera, default_config

IS_ROOT = os.geteuid() == 0


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs here: " + r.stderr.strip())


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def fill(path):
    """Writes a filler file until the file system is full; returns its path."""
    filler = os.path.join(path, "filler")
    # Unbuffered: a buffered file would raise ENOSPC again when closed, flushing what was left.
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def count_marked(d, marker):
    ids = []
    cursor = ""
    while True:
        page = d.api("/api/v1/events?limit=1000&q=%s%s" % (
            urllib.parse.quote(marker), "&cursor=" + cursor if cursor else ""))
        ids += [e["unique_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if not cursor:
            return len(ids), len(set(ids))


def marked_in_log(d, marker):
    return [e for e in d.all_events() if marker in e["transaction"]["request"]["uri"]]


def send(d, marker, n, body_bytes=0, first=0):
    """n requests (numbered from `first`), each on its own connection; every one must be answered."""
    for i in range(first, first + n):
        body = "x" * body_bytes if body_bytes else None
        status, _, _ = d.request("POST" if body else "GET", "/login.php?m=%s-%d&id=1%%27--" % (marker, i),
                                 body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert 200 <= status < 500, "request %d answered %d" % (i, status)


def read_status(d):
    for _ in range(50):
        try:
            return d.status()
        except (OSError, ValueError):
            time.sleep(0.05)
    raise AssertionError("status.json unreadable")


@unittest.skipUnless(IS_ROOT, "needs root to mount a small tmpfs")
class DiskFullTest(unittest.TestCase):
    def test_drosera_run_keeps_answering_counts_and_resumes(self):
        d = Drosera(default_config("[sensor]\nstatus_interval_s = 0.2\n"), command="run")
        mount_tmpfs(d.data_dir, "6m")
        try:
            d.start()
            send(d, "before", 20)
            d.wait_api("/api/v1/status", lambda s: count_marked(d, "before")[0] == 20)
            log_before = [json.dumps(e, sort_keys=True) for e in d.all_events()]
            filler = fill(d.data_dir)
            # The disk is full: every request is still answered.
            send(d, "during", 150, body_bytes=2000)
            deadline = time.time() + 20
            st = read_status(d)
            while time.time() < deadline and st["storage"]["ok"]:
                time.sleep(0.2)
                st = read_status(d)
            self.assertFalse(st["storage"]["ok"], "no storage alert in the status while the disk is full")
            self.assertEqual(st["alerts"][0]["kind"], "storage")
            self.assertIn("space", st["storage"]["last_error"].lower() + st["alerts"][0]["message"].lower())
            self.assertTrue(d.alive())
            with open(os.path.join(d.tmp, "stderr.txt"), errors="replace") as f:
                self.assertIn("No space left on device", f.read())
            # Space returns: writing resumes, what waited in the journal is recorded.
            os.unlink(filler)
            send(d, "after", 20)
            d.wait_api("/api/v1/status", lambda s: count_marked(d, "after")[0] == 20, timeout=60)
            deadline = time.time() + 30
            while time.time() < deadline:
                st = read_status(d)
                during_log = len(marked_in_log(d, "during"))
                if during_log + st["storage"]["unrecorded"] >= 150 and st["inspection"]["backlog"] == 0:
                    break
                time.sleep(0.3)
            # Every request is either in the event log or counted as not recorded, never both.
            during_log = len(marked_in_log(d, "during"))
            self.assertEqual(during_log + st["storage"]["unrecorded"], 150,
                             "during: %d in the log, %d counted unrecorded" % (during_log, st["storage"]["unrecorded"]))
            # Nothing written before is corrupted (all_events parses every line).
            log_now = [json.dumps(e, sort_keys=True) for e in d.all_events()]
            self.assertEqual(log_now[:len(log_before)], log_before)
            # The store holds exactly what the log holds, once.
            d.wait_api("/api/v1/status", lambda s: count_marked(d, "during")[0] == during_log, timeout=60)
            n, distinct = count_marked(d, "during")
            self.assertEqual(n, distinct)
            self.assertEqual(count_marked(d, "before"), (20, 20))
            deadline = time.time() + 15
            while time.time() < deadline and not read_status(d)["storage"]["ok"]:
                time.sleep(0.5)
            self.assertTrue(read_status(d)["storage"]["ok"], "the storage alert never cleared")
            print("\ndisk full: 150 requests answered; %d recorded, %d counted unrecorded; "
                  "event log errors %d, journal errors %d" % (
                      during_log, st["storage"]["unrecorded"], st["storage"]["event_log_errors"],
                      st["storage"]["journal_errors"]))
        finally:
            d.cleanup_keep = True
            if d.proc and d.proc.poll() is None:
                d.kill()
            umount(d.data_dir)
            d.cleanup()

    def test_collector_answers_503_and_stores_nothing_half(self):
        token = "disk-full-sensor-token-0123456789"
        d = Drosera(default_config() + '\n[[collector.sensor]]\nname = "df"\ntoken = "%s"\n' % token,
                    command="collector")
        mount_tmpfs(d.data_dir, "3m")
        try:
            d.start()
            url = d.api_url() + "/api/v1/ingest"

            with open(os.path.join(SOURCE, "tests", "data", "drosera_events.log")) as f:
                template = json.loads(f.readline())

            def batch(tag, n):
                lines = []
                for i in range(n):
                    e = json.loads(json.dumps(template))
                    e["transaction"]["unique_id"] = "%s-%d" % (tag, i)
                    e["transaction"]["request"]["uri"] = "/%s/%d?pad=%s" % (tag, i, "x" * 3000)
                    lines.append(json.dumps(e))
                return ("\n".join(lines) + "\n").encode()

            def post(body):
                req = urllib.request.Request(url, data=body, method="POST", headers={
                    "Authorization": "Bearer " + token, "Content-Type": "application/x-ndjson"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        return r.status
                except urllib.error.HTTPError as e:
                    return e.code

            self.assertEqual(post(batch("ok", 10)), 200)
            filler = fill(d.data_dir)
            codes = [post(batch("full%d" % k, 200)) for k in range(5)]
            self.assertIn(503, codes, "a full disk must be answered 503 (the sensor retries)")
            stored = d.api("/api/v1/status")["store"]["events"]
            # A refused batch left nothing behind: whole batches only.
            self.assertEqual((stored - 10) % 200, 0, "a batch was half stored: %d events" % stored)
            os.unlink(filler)
            self.assertEqual(post(batch("again", 10)), 200)
            self.assertEqual(d.api("/api/v1/status")["store"]["events"], stored + 10)
        finally:
            if d.proc and d.proc.poll() is None:
                d.kill()
            umount(d.data_dir)
            d.cleanup()


def free_privileged_port():
    for port in range(1000, 1023):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise unittest.SkipTest("no free port below 1024")


def proc_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1:]
    return None


def sockets_of(pid):
    """(state, local port, remote port) of every TCP socket of the process."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                p = line.split()
                if p[9] in inodes:
                    out.append((p[3], int(p[1].rsplit(":", 1)[1], 16), int(p[2].rsplit(":", 1)[1], 16)))
    return out


class OutOfMemoryTest(unittest.TestCase):
    """The collector short of memory (its address space capped while it runs, with prlimit):
    a batch as large as the limits allow is not stored and not acknowledged (503, or the
    connection closed), the collector lives on, and the same batch sent again once memory is
    back is stored once. Before: std::bad_alloc ended the process (SIGABRT)."""

    def test_a_collector_short_of_memory_refuses_the_batch_and_lives(self):
        import http.client
        import resource
        token = "oom-sensor-token-0123456789abcdef"
        d = Drosera(default_config() + '\n[[collector.sensor]]\nname = "oom"\ntoken = "%s"\n' % token,
                    command="collector")
        d.start()
        try:
            host, port = urllib.parse.urlsplit(d.api_url()).netloc.split(":")
            with open(os.path.join(SOURCE, "tests", "data", "drosera_events.log")) as f:
                template = json.loads(f.readline())

            def record(uid, pad):
                e = json.loads(json.dumps(template))
                e["transaction"]["unique_id"] = uid
                e["transaction"]["request"]["uri"] = "/big?pad=" + "x" * pad
                return json.dumps(e) + "\n"

            def post(body):
                """The status, or None when the connection was cut before an answer."""
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                try:
                    c.request("POST", "/api/v1/ingest", body=body,
                              headers={"Authorization": "Bearer " + token})
                    return c.getresponse().status
                except (ConnectionError, http.client.HTTPException):
                    return None
                finally:
                    c.close()

            self.assertEqual(post(record("small", 10).encode()), 200)
            # Two records of 14 MiB (the record limit is 16 MiB, the batch limit 32 MiB).
            big = (record("big-1", 14 << 20) + record("big-2", 14 << 20)).encode()
            pid = d.proc.pid
            with open("/proc/%d/status" % pid) as f:
                vm_kb = next(int(l.split()[1]) for l in f if l.startswith("VmSize:"))
            # Room for what runs, not for the batch read (at least twice its size), parsed, stored.
            resource.prlimit(pid, resource.RLIMIT_AS,
                             ((vm_kb << 10) + len(big), resource.RLIM_INFINITY))
            try:
                codes = [post(big) for _ in range(3)]
                self.assertTrue(d.alive(), "the collector died:\n" + d.stderr_text()[-2000:])
                for code in codes:
                    self.assertIn(code, (None, 503), codes)
            finally:
                if d.alive():
                    resource.prlimit(pid, resource.RLIMIT_AS,
                                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            status = d.api("/api/v1/status")
            self.assertEqual(status["store"]["events"], 1, "a refused batch left events behind")
            # Counted: out of memory in the server, or in the parser (answered 503 by the handler).
            self.assertGreaterEqual(status["stats"]["out_of_memory"] + status["stats"]["store_errors"],
                                    3, status["stats"])
            self.assertEqual(post(big), 200)
            self.assertEqual(d.api("/api/v1/status")["store"]["events"], 3)
            self.assertTrue(d.alive())
        finally:
            d.cleanup()


class PrivilegeTest(unittest.TestCase):
    @unittest.skipUnless(IS_ROOT, "needs root to bind a port below 1024 and change user")
    def test_binds_a_privileged_port_then_runs_as_nobody(self):
        port = free_privileged_port()
        listeners = '\n[[server.listener]]\nport = %d\nkind = "real"\n' % port
        # An ECS NDJSON path outside the data folder, rotated every 4 KiB: the files drosera
        # created as root must be handed over too, or the first rotation fails after the drop.
        out_dir = tempfile.mkdtemp(prefix="drosera-ecs-out-")
        os.chmod(out_dir, 0o755)
        ndjson = os.path.join(out_dir, "ecs.ndjson")
        d = Drosera(default_config('[general]\nuser = "nobody"\n[ecs.ndjson]\nenabled = true\n'
                                   'path = "%s"\nrotate_bytes = 4096\npoll_interval_s = 0.05\n'
                                   % ndjson, listeners=listeners), command="run")
        os.chmod(d.tmp, 0o711)  # the data folder's parent must be searchable by nobody
        try:
            d.start()
            pid = d.proc.pid
            # start() returns once the sensor runs; the drop comes after the collector and the
            # outputs are up (the banner is printed then).
            deadline = time.time() + 20
            while time.time() < deadline and proc_field(pid, "Uid") != ["65534"] * 4:
                time.sleep(0.05)
            self.assertEqual(proc_field(pid, "Uid"), ["65534"] * 4)
            self.assertEqual(proc_field(pid, "Gid"), ["65534"] * 4)
            self.assertEqual(proc_field(pid, "CapEff"), ["0000000000000000"])
            self.assertEqual(proc_field(pid, "NoNewPrivs"), ["1"])
            status, _, _ = d.request("GET", "/?after=drop", port=port)
            self.assertEqual(status, 200)
            d.wait_events(lambda e: "after=drop" in e["transaction"]["request"]["uri"])
            d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= 1)
            for root, dirs, files in os.walk(d.data_dir):
                for name in dirs + files:
                    p = os.path.join(root, name)
                    self.assertEqual(os.lstat(p).st_uid, 65534, p + " is not nobody's")
            deadline = time.time() + 30
            i = 0
            while time.time() < deadline and not os.path.exists(ndjson + ".1"):
                d.request("GET", "/?rotate=%d" % i, port=port)  # batches of a few events
                i += 1
                time.sleep(0.2)
            self.assertTrue(os.path.exists(ndjson + ".1"), "the NDJSON output never rotated: " +
                            json.dumps(d.api("/api/v1/status").get("outputs", {})))
            self.assertEqual(d.api("/api/v1/status")["outputs"]["ecs_ndjson"]["errors"], 0)
            for name in os.listdir(out_dir):
                self.assertEqual(os.lstat(os.path.join(out_dir, name)).st_uid, 65534, name)
            # Started again as root, with the data folder nobody's now (its secrets included,
            # read before the drop): it starts (it refused the token files once).
            self.assertEqual(d.stop(), 0)
            d.start()
            status, _, _ = d.request("GET", "/?after=restart", port=port)
            self.assertEqual(status, 200)
            d.wait_events(lambda e: "after=restart" in e["transaction"]["request"]["uri"])
        finally:
            d.cleanup()
            shutil.rmtree(out_dir, ignore_errors=True)

    def test_a_missing_user_is_a_clear_error(self):
        d = Drosera(default_config('[general]\nuser = "no-such-user-x"\n'), command="run")
        try:
            with self.assertRaises(RuntimeError) as e:
                d.start(timeout=20)
            self.assertIn("general.user: no such user 'no-such-user-x'", str(e.exception))
        finally:
            d.cleanup()

    def test_data_folder_and_secrets_are_private(self):
        d = Drosera(default_config(), command="run")
        try:
            d.start()
            d.request("GET", "/?perm=1")
            d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= 1)
            self.assertEqual(os.stat(d.data_dir).st_mode & 0o777, 0o700)
            for root, dirs, files in os.walk(d.data_dir):
                # The MISP feed is meant to be served to a MISP instance (docs/misp.md).
                dirs[:] = [n for n in dirs if n != "misp-feed"]
                for name in dirs:
                    mode = os.stat(os.path.join(root, name)).st_mode & 0o777
                    self.assertEqual(mode, 0o700, "%s/%s is %o" % (root, name, mode))
                for name in files:
                    p = os.path.join(root, name)
                    mode = os.stat(p).st_mode & 0o777
                    if p.endswith("tls/cert.pem"):
                        continue  # public
                    self.assertEqual(mode & 0o077, 0, "%s is %o" % (p, mode))
            for secret in ("api.token", "sensor.token", "traps.key"):
                self.assertEqual(os.stat(os.path.join(d.data_dir, "secrets", secret)).st_mode & 0o777, 0o600)
        finally:
            d.cleanup()

    def test_the_sensor_connects_to_nothing_but_its_collector(self):
        token = "outbound-check-token-0123456789"
        collector = Drosera(default_config() + '\n[[collector.sensor]]\nname = "ob"\ntoken = "%s"\n' % token,
                            command="collector").start()
        try:
            url = collector.api_url()
            cport = int(url.rsplit(":", 1)[1])
            sensor = Drosera(default_config(
                '[sensor]\nid = "ob"\n[shipper]\nenabled = true\nurl = "%s/api/v1/ingest"\ntoken = "%s"\n'
                % (url, token))).start()
            try:
                listen_ports = set(sensor.ports["real"] + sensor.ports["fake"] + sensor.ports["tls"])
                seen_collector = False
                deadline = time.time() + 5
                sent = 0
                while time.time() < deadline:
                    sensor.request("GET", "/?ob=%d&x=<script>" % sent)
                    sent += 1
                    for state, local, remote in sockets_of(sensor.proc.pid):
                        if state == "0A":  # LISTEN
                            self.assertIn(local, listen_ports)
                            continue
                        if local in listen_ports:
                            continue  # a client of ours
                        self.assertEqual(remote, cport, "an outbound connection to port %d" % remote)
                        seen_collector = True
                    time.sleep(0.05)
                self.assertTrue(seen_collector, "the shipper's connection was never seen")
            finally:
                sensor.cleanup()
        finally:
            collector.cleanup()


class QuotaTest(unittest.TestCase):
    def test_event_log_and_store_stay_under_their_caps_dropping_the_oldest(self):
        d = Drosera(default_config(
            "[event_log]\nrotate_bytes = 65536\nkeep_files = 2\n"
            "[collector]\nretention_bytes = \"600KiB\"\nretention_interval_s = 0.3\n"), command="run")
        try:
            d.start()
            # Until the store passes its cap. 400 events do it on a quiet machine; on a busy one
            # the shipper falls behind, the event log's own cap drops files first (counted in
            # dropped_files) and the store takes longer to fill.
            sent = 0
            while sent < 2000:
                send(d, "quota", 200, body_bytes=1500, first=sent)
                sent += 200
                try:
                    d.wait_api("/api/v1/status", lambda s: s["stats"]["retention_deleted"] > 0, timeout=10)
                    break
                except AssertionError:
                    pass
            d.wait_api("/api/v1/status", lambda s: s["stats"]["retention_deleted"] > 0, timeout=60)
            st = read_status(d)
            self.assertGreater(st["events"]["dropped_files"], 0)
            self.assertGreater(st["events"]["dropped_bytes"], 0)
            files = os.listdir(os.path.join(d.data_dir, "events"))
            self.assertLessEqual(len(files), 3, files)
            total = sum(os.path.getsize(os.path.join(d.data_dir, "events", f)) for f in files)
            self.assertLessEqual(total, 3 * 65536 + 16384)
            # The newest events are kept, the oldest went first.
            deadline = time.time() + 30
            newest = "quota-%d&" % (sent - 1)
            while time.time() < deadline and count_marked(d, newest)[0] != 1:
                time.sleep(0.3)
            self.assertEqual(count_marked(d, newest)[0], 1)
            self.assertEqual(count_marked(d, "quota-0&")[0], 0, "the oldest event survived retention")
            cs = d.api("/api/v1/status")
            self.assertEqual(cs["stats"]["rejected"], 0, "torn event log lines reached the collector")
            print("\nquotas: event log %d files dropped (%d bytes); store %d events deleted, "
                  "%d kept in %d bytes" % (st["events"]["dropped_files"], st["events"]["dropped_bytes"],
                                           cs["stats"]["retention_deleted"], cs["store"]["events"],
                                           cs["store"]["bytes"]))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
