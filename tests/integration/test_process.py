"""The process around the honeypot: what it writes outside its data folder handed over to
general.user (the event log, the SQLite store, the MISP feed), the open-file limit raised to fit
limits.max_connections, the shutdown order (the sensor stops first; a MISP call that hangs does
not hold SIGTERM up), and signals inherited as ignored (nohup) left ignored.

The privilege tests need root (to change user); without it they are skipped."""
import contextlib
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Drosera, default_config

IS_ROOT = os.geteuid() == 0
NOBODY = 65534
TRUSTED = '[server]\ntrusted_proxies = ["127.0.0.1/32"]\n'
ATTACKER = "45.33.32.156"  # a global address, through X-Forwarded-For from the trusted proxy


@contextlib.contextmanager
def child_setup(fn):
    """drosera started by Drosera.start() inside runs `fn` in the child before exec."""
    original = subprocess.Popen

    def popen(*args, **kwargs):
        kwargs["preexec_fn"] = fn
        return original(*args, **kwargs)

    subprocess.Popen = popen
    try:
        yield
    finally:
        subprocess.Popen = original


def nofile(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def disposition(handler, *sigs):
    def fn():
        for s in sigs:
            signal.signal(s, handler)
    return fn


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return None


def owner_tree(path):
    """(path, uid) of the folder and everything in it."""
    out = [(path, os.lstat(path).st_uid)]
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            out.append((p, os.lstat(p).st_uid))
    return out


def refused(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


class WrittenOutsideTest(unittest.TestCase):
    """With general.user, paths outside the data folder are handed over like the data folder:
    before, the event log stayed root's 0600, its first rotation failed (Permission denied),
    and events piled up in the capture journal, never reaching the store."""

    def outside(self):
        d = tempfile.mkdtemp(prefix="drosera-out-")
        os.chmod(d, 0o755)  # searchable by nobody; not writable by it
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def run_as_nobody(self, extra):
        d = Drosera(default_config(TRUSTED + '[general]\nuser = "nobody"\n' + extra), command="run")
        os.chmod(d.tmp, 0o711)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    def attack(self, d, n):
        status, _, _ = d.request("GET", "/?id=1%27%20OR%201=1--&n=" + str(n),
                                 headers={"X-Forwarded-For": ATTACKER})
        self.assertEqual(status, 200)

    def assert_nobodys(self, *tops):
        for top in tops:
            for p, uid in owner_tree(top):
                self.assertEqual(uid, NOBODY, p + " is not nobody's")

    @unittest.skipUnless(IS_ROOT, "needs root to change user")
    def test_an_event_log_outside_the_data_folder_rotates_and_reaches_the_store(self):
        out = self.outside()
        event_log = os.path.join(out, "events", "event.log")  # in a folder drosera makes
        d = self.run_as_nobody('[event_log]\npath = "%s"\nrotate_bytes = 16384\nkeep_files = 1000\n'
                               % event_log)
        sent = 30  # about 3 KiB each: rotated every 5 or so
        for n in range(sent):
            self.attack(d, n)
        # Every event reaches the store: none waits in the journal for want of a log.
        st = d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= sent, timeout=60)
        self.assertEqual(st["store"]["events"], sent)
        events = d.status()["events"]
        self.assertGreaterEqual(events["rotations"], 3, events)
        self.assertEqual((events["write_errors"], events["dropped_files"]), (0, 0), events)
        self.assert_nobodys(os.path.dirname(event_log))
        self.assertEqual(os.lstat(out).st_uid, 0, "a folder drosera does not own was taken")
        self.assertNotIn("Permission denied", d.stderr_text())
        self.assertEqual(d.stop(), 0)
        # Started again as root: it starts, and goes on writing there.
        d.start()
        self.attack(d, sent)
        d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= sent + 1, timeout=60)

    @unittest.skipUnless(IS_ROOT, "needs root to change user")
    def test_a_store_and_a_misp_feed_outside_the_data_folder_are_the_users(self):
        out = self.outside()
        store = os.path.join(out, "store", "store.db")
        os.mkdir(os.path.dirname(store))  # a folder of its own, root's
        feed = os.path.join(out, "feed")  # made by drosera
        d = self.run_as_nobody('[collector]\nsqlite_path = "%s"\n[misp]\nfeed_dir = "%s"\n'
                               'interval_s = 0.5\n' % (store, feed))
        self.attack(d, 0)
        d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= 1, timeout=60)
        d.wait_api("/api/v1/status", lambda s: s.get("misp", {}).get("misp_events_updated", 0) >= 1,
                   timeout=60)
        self.assertTrue(os.path.exists(os.path.join(feed, "manifest.json")), d.stderr_text())
        self.assert_nobodys(os.path.dirname(store), feed)
        self.assertEqual(oct(os.stat(feed).st_mode & 0o777), oct(0o755))  # still served
        self.assertEqual(os.lstat(out).st_uid, 0, "a folder drosera does not own was taken")
        self.assertNotIn("Permission denied", d.stderr_text())
        self.assertEqual(d.stop(), 0)
        d.start()
        self.attack(d, 1)
        d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= 2, timeout=60)

    @unittest.skipUnless(IS_ROOT, "needs root to change user")
    def test_an_event_log_in_a_shared_folder_the_user_cannot_write_is_refused_at_start(self):
        out = self.outside()
        with open(os.path.join(out, "someone-else.log"), "w") as f:
            f.write("not drosera's\n")
        event_log = os.path.join(out, "drosera.log")
        d = Drosera(default_config('[general]\nuser = "nobody"\n[event_log]\npath = "%s"\n'
                                   % event_log), command="sensor")
        os.chmod(d.tmp, 0o711)
        try:
            with self.assertRaises(RuntimeError) as e:
                d.start(timeout=30)
            self.assertIn("general.user: 'nobody' cannot write %s, the folder of event_log.path %s"
                          % (out, event_log), str(e.exception))
            self.assertEqual(os.lstat(out).st_uid, 0)
            self.assertEqual(os.lstat(os.path.join(out, "someone-else.log")).st_uid, 0)
        finally:
            d.cleanup()


class OpenFilesTest(unittest.TestCase):
    """limits.max_connections against RLIMIT_NOFILE: before, the soft limit (1024) was left as
    it was, and one client holding 1100 half-sent requests left the listener unable to accept
    anyone (EMFILE) while the default limits.max_connections is 4096."""

    def test_the_soft_limit_is_raised_and_a_flood_does_not_lock_others_out(self):
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1400:
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, max(4096, resource.getrlimit(
                resource.RLIMIT_NOFILE)[1])))
        d = Drosera(default_config("[limits]\nmax_connections = 1500\n"
                                   "max_connections_per_ip = 2000\nheader_timeout_s = 60\n"))
        conns = []
        try:
            with child_setup(nofile(1024, 8192)):
                d.start()
            self.assertEqual(soft_nofile(d.proc.pid), 8192)
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", d.real), timeout=5)
                s.sendall(b"GET /slow HTTP/1.1\r\n")
                conns.append(s)
            t0 = time.time()
            status, _, _ = d.request("GET", "/?after=flood")
            self.assertEqual(status, 200)
            self.assertLess(time.time() - t0, 5)
            self.assertTrue(d.alive())
        finally:
            for s in conns:
                s.close()
            d.cleanup()

    def test_max_connections_over_the_hard_limit_is_lowered_with_a_warning(self):
        d = Drosera(default_config())  # limits.max_connections 4096, the default
        try:
            with child_setup(nofile(1024, 1024)):
                d.start()
            # 1024 - 256 reserved - 64 overflow - 3 listening sockets
            self.assertIn("limits.max_connections lowered from 4096 to 701: the open-file limit "
                          "is 1024", d.stderr_text())
            status, _, _ = d.request("GET", "/")
            self.assertEqual(status, 200)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_far_too_low_a_limit_is_refused_naming_the_key(self):
        d = Drosera(default_config())
        try:
            with child_setup(nofile(300, 300)):
                with self.assertRaises(RuntimeError) as e:
                    d.start(timeout=30)
            self.assertIn("limits.max_connections: 4096 connections need", str(e.exception))
            self.assertIn("the open-file limit is 300", str(e.exception))
        finally:
            d.cleanup()


class CollectorConnectionsTest(unittest.TestCase):
    """The collector's own connection caps (collector.max_connections, ..._per_ip): before, they
    were fixed at 4096 and 1024 and left out of the open-file count, so `drosera run` under a
    hard limit of 1024 fitted the sensor's connections and could then run out of descriptors
    with the collector's clients."""

    def test_drosera_run_counts_the_collectors_connections(self):
        d = Drosera(default_config(), command="run")
        try:
            with child_setup(nofile(1024, 1024)):
                d.start()
            # 1024 - 256 reserved - 64 overflow - 3 listening sockets - the collector's 256
            # connections, its 64 overflow and its listening socket
            self.assertIn("limits.max_connections lowered from 4096 to 380: the open-file limit "
                          "is 1024 (hard limit 1024), and the process needs 644 more besides (321 "
                          "of them for the collector's collector.max_connections)", d.stderr_text())
            d.api("/api/v1/status")
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_a_collectors_cap_over_the_limit_is_lowered_with_a_warning(self):
        # drosera collector's default (a fleet: 4096) and a cap set over the limit
        for extra, cap in (("", 4096), ("[collector]\nmax_connections = 5000\n", 5000)):
            d = Drosera(default_config(extra), command="collector")
            try:
                with child_setup(nofile(1024, 1024)):
                    d.start()
                # 1024 - 256 reserved - 64 overflow - 1 listening socket
                self.assertIn("collector.max_connections lowered from %d to 703: the open-file "
                              "limit is 1024" % cap, d.stderr_text())
                d.api("/api/v1/status")
                self.assertEqual(d.stop(), 0)
            finally:
                d.cleanup()

    def test_drosera_run_lowers_a_collectors_cap_that_leaves_the_sensor_no_room(self):
        # A review's case: the sensor was refused, named as the setting at fault.
        d = Drosera(default_config("[collector]\nmax_connections = 5000\n"), command="run")
        try:
            with child_setup(nofile(1024, 1024)):
                d.start()
            # 1024 - 256 reserved - 65 (the collector's overflow and socket) - 131 (the
            # sensor's overflow, 3 sockets and its least 64); then the sensor gets its 64
            self.assertIn("collector.max_connections lowered from 5000 to 572: the open-file "
                          "limit is 1024 (hard limit 1024), and the process needs 452 more besides "
                          "(with the sensor's least)", d.stderr_text())
            self.assertIn("limits.max_connections lowered from 4096 to 64", d.stderr_text())
            d.api("/api/v1/status")
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def test_connections_past_the_collectors_caps_are_answered_503(self):
        for key, value in (("max_connections", 3), ("max_connections_per_ip", 3)):
            d = Drosera(default_config("[collector]\n%s = %d\n" % (key, value)),
                        command="collector")
            held = []
            try:
                d.start()
                host, port = d.api_url().split("//", 1)[1].rsplit(":", 1)
                d.api("/api/v1/status")  # under the cap: answered
                for _ in range(3):
                    held.append(socket.create_connection((host, int(port)), timeout=5))
                time.sleep(0.3)  # accepted and counted
                with socket.create_connection((host, int(port)), timeout=5) as s:
                    s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = s.recv(65536)
                self.assertTrue(answer.startswith(b"HTTP/1.1 503"), (key, answer[:200]))
                for s in held:
                    s.close()
                held = []
                deadline = time.time() + 10
                while True:  # the held connections gone, the collector answers again
                    try:
                        d.api("/api/v1/status")
                        break
                    except AssertionError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.1)
                self.assertEqual(d.stop(), 0)
            finally:
                for s in held:
                    s.close()
                d.cleanup()


class SignalTest(unittest.TestCase):
    """SIGHUP and SIGINT inherited as ignored (nohup, a shell's background job) stay ignored;
    before, sigwait() took them and drosera stopped. SIGTERM always stops."""

    def test_sighup_and_sigint_inherited_as_ignored_do_not_stop_it(self):
        d = Drosera(default_config())
        try:
            with child_setup(disposition(signal.SIG_IGN, signal.SIGHUP, signal.SIGINT)):
                d.start()
            d.proc.send_signal(signal.SIGHUP)
            d.proc.send_signal(signal.SIGINT)
            time.sleep(1)
            self.assertTrue(d.alive(), d.stderr_text())
            status, _, _ = d.request("GET", "/?after=hup")
            self.assertEqual(status, 200)
            self.assertEqual(d.stop(signal.SIGTERM), 0)
        finally:
            d.cleanup()

    def test_sighup_stops_it_as_before_when_not_ignored(self):
        for sig in (signal.SIGHUP, signal.SIGINT):
            d = Drosera(default_config())
            try:
                # Whatever the test runner inherited (it may run under nohup itself).
                with child_setup(disposition(signal.SIG_DFL, signal.SIGHUP, signal.SIGINT)):
                    d.start()
                d.proc.send_signal(sig)
                self.assertEqual(d.proc.wait(timeout=30), 0)
                self.assertIn("signal %d received, stopping" % sig, d.stderr_text())
            finally:
                d.cleanup()


class ShutdownTest(unittest.TestCase):
    """SIGTERM while a MISP REST call hangs (the server takes the connection and never answers):
    the sensor stops listening at once, and the process ends within seconds. Before, the
    reporter's pass ran first, through every attempt (retry_attempts x timeout_s: 80 s here),
    and the sensor served on meanwhile."""

    def test_sigterm_stops_the_sensor_first_and_aborts_a_hanging_misp_call(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: connections wait in the backlog, unanswered
        port = silent.getsockname()[1]
        d = Drosera(default_config(
            TRUSTED + '[misp]\nurl = "http://127.0.0.1:%d"\napi_key_env = "DROSERA_TEST_MISP_KEY"\n'
            'interval_s = 0.5\ntimeout_s = 20\nretry_attempts = 4\n' % port), command="run")
        os.environ["DROSERA_TEST_MISP_KEY"] = "k" * 40
        try:
            d.start()
            del os.environ["DROSERA_TEST_MISP_KEY"]
            d.request("GET", "/products.php?id=1%27%20UNION%20SELECT%201,2--",
                      headers={"X-Forwarded-For": ATTACKER})
            readable, _, _ = select.select([silent], [], [], 30)
            self.assertTrue(readable, "the reporter never called MISP: " + d.stderr_text())
            time.sleep(0.5)
            t0 = time.time()
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertTrue(refused(d.real), "the sensor still listens after SIGTERM")
            self.assertEqual(d.proc.wait(timeout=15), 0)
            self.assertLess(time.time() - t0, 10, d.stderr_text())
            self.assertNotIn("report failed", d.stderr_text())
        finally:
            os.environ.pop("DROSERA_TEST_MISP_KEY", None)
            d.cleanup()
            silent.close()


if __name__ == "__main__":
    unittest.main()
