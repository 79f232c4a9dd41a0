"""Runs the real drosera binary on loopback for integration tests (python3 stdlib only)."""
import unittest
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BIN = os.environ.get("DROSERA_BIN", os.path.join(os.path.dirname(__file__), "../../build/release/drosera"))
SOURCE = os.environ.get("DROSERA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))

BROWSER_HEADERS = {
    "Host": "localhost",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
}


BASE_CONFIG = {
    "general": {"log_level": '"info"'},
    "sensor": {"status_interval_s": "0.2"},
    "server": {"bind": '["127.0.0.1"]'},
    "inspection": {"fsync_interval_s": "0.1"},
    "event_log": {"fsync": '"never"'},
    "collector": {"listen": '"127.0.0.1:0"'},
}
BASE_LISTENERS = """
[[server.listener]]
port = 0
kind = "real"
[[server.listener]]
port = 0
kind = "fake"
[[server.listener]]
port = 0
kind = "real"
tls = true
"""


def free_port():
    """A loopback port free just now (for the real servers the tests start beside drosera)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=30):
    """Returns once something listens on `port`; raises if `proc` exits first or on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def default_config(extra="", listeners=BASE_LISTENERS):
    """A test configuration: loopback only, every port chosen by the kernel. `extra` is TOML
    whose simple [section] keys override the base ones."""
    sections = {k: dict(v) for k, v in BASE_CONFIG.items()}
    current = None
    for line in extra.splitlines():
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        if t.startswith("[") and not t.startswith("[["):
            current = t.strip("[]").strip()
            sections.setdefault(current, {})
            continue
        key, _, value = t.partition("=")
        sections[current][key.strip()] = value.strip()
    out = []
    for name, keys in sections.items():
        out.append("[%s]" % name)
        out.extend("%s = %s" % kv for kv in keys.items())
    return "\n".join(out) + "\n" + listeners


class Drosera:
    def __init__(self, config=None, data_dir=None, command="sensor"):
        self.tmp = tempfile.mkdtemp(prefix="drosera-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.config_path = os.path.join(self.tmp, "drosera.toml")
        with open(self.config_path, "w") as f:
            f.write(config if config is not None else default_config())
        self.command = command
        self.proc = None
        self.ports = {}
        self.events_read = 0

    # ---- process ---------------------------------------------------------------------------
    def start(self, timeout=60):
        status = os.path.join(self.data_dir, "status.json")
        if os.path.exists(status):
            os.unlink(status)
        out = os.path.join(self.tmp, "stdout.txt")
        if os.path.exists(out):
            os.unlink(out)
        self.stdout = open(os.path.join(self.tmp, "stdout.txt"), "ab")
        self.stderr = open(os.path.join(self.tmp, "stderr.txt"), "ab")
        self.proc = subprocess.Popen(
            [BIN, self.command, "--config", self.config_path, "--data-dir", self.data_dir],
            stdout=self.stdout, stderr=self.stderr)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("drosera exited with %s: %s" % (self.proc.returncode, self.stderr_text()))
            if self.command == "collector":
                try:
                    with open(os.path.join(self.tmp, "stdout.txt")) as f:
                        if "API:" in f.read():
                            return self
                except OSError:
                    pass
                time.sleep(0.05)
                continue
            try:
                with open(status) as f:
                    st = json.load(f)
                # Started means the banner is out: it is printed in one write once everything
                # (collector, outputs, MISP reporter, dropped privileges) is up.
                if st.get("running") and self._banner_out():
                    self.ports = {"real": [], "fake": [], "tls": []}
                    for l in st["listeners"]:
                        key = "tls" if l["tls"] else l["kind"]
                        if l["port"] not in self.ports[key]:
                            self.ports[key].append(l["port"])
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("drosera did not start: " + self.stderr_text())

    def _banner_out(self):
        try:
            with open(os.path.join(self.tmp, "stdout.txt")) as f:
                return "stop with Ctrl-C" in f.read()
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        for f in (getattr(self, "stdout", None), getattr(self, "stderr", None)):
            if f:
                f.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr_text(self):
        try:
            with open(os.path.join(self.tmp, "stderr.txt"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def status(self):
        with open(os.path.join(self.data_dir, "status.json")) as f:
            return json.load(f)

    # ---- collector API (drosera run / drosera collector) -----------------------------------
    def api_url(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(os.path.join(self.tmp, "stdout.txt")) as f:
                    for line in f:
                        if line.strip().startswith("API:"):
                            return line.split()[1].rstrip("/").rsplit("/api/v1", 1)[0]
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("no API URL in the banner")

    def api_token(self):
        with open(os.path.join(self.data_dir, "secrets", "api.token")) as f:
            return f.read().strip()

    def api(self, path, token=True, expect=200):
        import urllib.request, urllib.error
        req = urllib.request.Request(self.api_url() + path)
        if token:
            req.add_header("Authorization", "Bearer " + (token if isinstance(token, str) else self.api_token()))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        if expect is not None and status != expect:
            raise AssertionError("%s answered %d: %s" % (path, status, body[:300]))
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def wait_api(self, path, predicate, timeout=60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.api(path)
            if predicate(last):
                return last
            time.sleep(0.2)
        raise AssertionError("API %s never satisfied the condition; last: %s" % (path, str(last)[:500]))

    @property
    def real(self):
        return self.ports["real"][0]

    @property
    def fake(self):
        return self.ports["fake"][0]

    @property
    def tls(self):
        return self.ports["tls"][0]

    # ---- events ----------------------------------------------------------------------------
    def event_log_path(self):
        return os.path.join(self.data_dir, "events", "event.log")

    def all_events(self):
        """Every event line of every event log file (rotated first), parsed."""
        d = os.path.join(self.data_dir, "events")
        if not os.path.isdir(d):
            return []
        rotated = sorted((f for f in os.listdir(d) if f.startswith("event.log.")),
                         key=lambda f: int(f.rsplit(".", 1)[1]))
        out = []
        for name in rotated + ["event.log"]:
            p = os.path.join(d, name)
            if not os.path.exists(p):
                continue
            # One read to the end: iterating a file line by line while it grows would hand over
            # a line the writer had half written at a page boundary (it has no newline, so it is
            # skipped) and then, on the next step, the rest of it as a line of its own.
            with open(p, "rb") as f:
                data = f.read()
            offset = 0
            # The part after the last newline is still being written: it is read on a next call.
            for line in data.split(b"\n")[:-1]:
                if line.strip():
                    try:
                        out.append(json.loads(line))  # every complete line must be valid JSON
                    except ValueError as e:
                        raise AssertionError("%s at byte %d (%d bytes): %s: %r" % (
                            p, offset, len(line), e, line[:160] + b"..." + line[-80:])) from None
                offset += len(line) + 1
        return out

    def wait_events(self, predicate, count=1, timeout=30):
        """Waits until `count` events satisfy `predicate`; returns them."""
        deadline = time.time() + timeout
        found = []
        while time.time() < deadline:
            found = [e for e in self.all_events() if predicate(e)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError("only %d of %d events after %ss" % (len(found), count, timeout))

    # ---- clients ---------------------------------------------------------------------------
    def request(self, method, target, port=None, headers=None, body=None, tls=False, marker=None):
        """One HTTP/1.1 request on a new connection; returns (status, headers, body)."""
        h = dict(BROWSER_HEADERS)
        if headers:
            h.update(headers)
        if marker:
            h["X-Test-Marker"] = marker
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            h["Content-Length"] = str(len(data))
        h["Connection"] = "close"
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        raw = head.encode("latin-1") + (data or b"")
        return parse_response(self.raw(raw, port=port or (self.tls if tls else self.real), tls=tls))

    def raw(self, data, port=None, tls=False, timeout=10, half_close=False):
        """Sends raw bytes, returns everything the server sends until it closes."""
        s = socket.create_connection(("127.0.0.1", port or self.real), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname="localhost")
        try:
            s.sendall(data)
            if half_close and not tls:
                s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                try:
                    b = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)
        finally:
            s.close()


class RunOnDefaults(unittest.TestCase):
    """One `drosera run` on its defaults for the whole class (self.d); stopped cleanly after."""

    @classmethod
    def setUpClass(cls):
        cls.d = Drosera(default_config(), command="run").start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0


def parse_response(data):
    """(status, headers dict with lower-case names, body) of the first response in `data`."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return (0, {}, data)
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", len(body)))
    return (status, headers, body[:n])


def split_responses(data):
    """All responses in a byte stream (pipelining)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        status, headers, _ = parse_response(head + b"\r\n\r\n")
        n = int(headers.get("content-length", 0))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def rule_ids(event):
    return [int(m["details"]["ruleId"]) for m in event["transaction"]["messages"]]


def header(event, name):
    for k, v in event["transaction"]["request"]["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


def marked(marker):
    return lambda e: header(e, "X-Test-Marker") == marker


def raw_bytes(event):
    return base64.b64decode(event["drosera"]["raw"])
