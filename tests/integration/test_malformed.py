"""Hostile and malformed input from raw sockets: recorded, answered like a real server, no crash."""
import socket
import time
import unittest

from harness import Drosera, default_config, marked, parse_response, raw_bytes, rule_ids, header

LIMITS = """
[limits]
max_request_line = 1024
max_header_line = 1024
max_header_bytes = 4096
max_headers = 20
max_body_bytes = 8192
header_timeout_s = 1.0
body_timeout_s = 1.0
keepalive_timeout_s = 1.0
max_connections_per_ip = 5
"""


def read_until_closed(s):
    """What the server sends until it closes (or resets) the connection; closes it."""
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    s.close()
    return data


def by_raw(fragment):
    return lambda e: fragment in raw_bytes(e)


class MalformedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Drosera(default_config(LIMITS)).start()

    @classmethod
    def tearDownClass(cls):
        alive = cls.d.alive()
        rc = cls.d.stop()
        cls.d.cleanup()
        assert alive and rc == 0, "drosera died or exited badly: %s" % rc

    def send(self, data, **kw):
        return parse_response(self.d.raw(data, **kw))

    def check(self, data, status, anomaly=None, limit=None, marker=None):
        got, headers, body = self.send(data)
        self.assertEqual(got, status, (data[:80], body[:200]))
        if status >= 400:
            self.assertEqual(headers.get("connection"), "close")
        ev = self.d.wait_events(by_raw(marker or data[:40]))[-1]
        self.assertEqual(ev["transaction"]["response"]["http_code"], status)
        if anomaly:
            self.assertIn(anomaly, ev["drosera"]["anomalies"])
        if limit:
            self.assertIn(limit, ev["drosera"]["limits_hit"])
        self.assertTrue(self.d.alive())
        return ev

    def test_bad_request_line(self):
        self.check(b"GARBAGE\r\n\r\n", 400)
        # Apache reads HTTP/2.0 and later as 1.1 (nginx: 505; test_protocol compares both).
        self.check(b"GET /x HTTP/9.9\r\nHost: a\r\nConnection: close\r\n\r\n", 404,
                   "unsupported_version")
        self.check(b"GET /x FOO/1.1\r\nHost: a\r\n\r\n", 400, "invalid_version")
        ev = self.check(b"GET /a b?id=1' or '1'='1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "space_in_target")
        # Still inspected as far as it could be parsed.
        self.assertEqual(ev["drosera"]["inspection"]["state"], "inspected")
        self.assertIn("' or '1'='1", ev["transaction"]["request"]["uri"])

    def test_invalid_headers(self):
        self.check(b"GET /h1 HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", 400, "header_without_colon")
        self.check(b"GET /h2 HTTP/1.1\r\nHost: a\r\nX-Bad : v\r\n\r\n", 400, "space_before_colon")
        # Apache joins a folded line to the header above (nginx refuses it).
        self.check(b"GET /h3 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\nConnection: close\r\n\r\n",
                   404, "obs_fold")
        self.check(b"GET /h4 HTTP/1.1\r\n\r\n", 400, "missing_host")
        # Host values Apache refuses (its default HttpProtocolOptions Strict), and two Hosts.
        ev = self.check(b"GET /h5?id=1%27 HTTP/1.1\r\nHost: a/../b\r\n\r\n", 400, "invalid_host")
        self.assertEqual(ev["drosera"]["inspection"]["state"], "inspected")
        self.check(b"GET /h6 HTTP/1.1\r\nHost: victim:99999\r\n\r\n", 400, "invalid_host")
        # Its page names our address, as Apache without ServerName does, not the refused Host.
        self.assertIn(b"Server at 127.0.0.1 Port %d" % self.d.real,
                      self.send(b"GET /h8 HTTP/1.1\r\nHost: victim:99999\r\n\r\n")[2])
        self.check(b"GET /h7 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host")

    def test_more_empty_lines_than_apache_takes_are_a_bad_request(self):
        # Ten before the request line are taken; more were skipped without end and held until
        # the header timeout.
        self.check(b"\r\n" * 10 + b"GET /index.html?ten-blank HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                   200, marker=b"ten-blank")
        self.check(b"\r\n" * 11 + b"GET /eleven-blank HTTP/1.1\r\nHost: a\r\n\r\n", 400, "blank_lines",
                   marker=b"\r\n" * 10 + b"\r")
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        start = time.time()
        data = b""
        try:
            for _ in range(64):
                s.sendall(b"\r\n" * 32768)
        except OSError:
            pass  # answered and closed after the first few bytes
        data += read_until_closed(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:100])
        self.assertLess(time.time() - start, 5)
        self.assertTrue(self.d.alive())

    def test_empty_lines_after_a_request_are_not_another_request(self):
        def blank(e):
            return raw_bytes(e).strip(b"\r\n") == b""
        before = len([e for e in self.d.all_events() if blank(e)])
        got, _, _ = self.send(b"POST /contact.php?trailing-crlf HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                              b"Connection: close\r\n\r\na=b\r\n")
        self.assertEqual(got, 200)
        self.d.raw(b"POST /contact.php?trailing-crlf-ka HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na=b\r\n",
                   half_close=True)
        self.d.wait_events(by_raw(b"POST /contact.php?trailing-crlf-ka"))
        self.d.wait_events(by_raw(b"POST /contact.php?trailing-crlf HTTP"))
        time.sleep(1.0)
        self.assertEqual(len([e for e in self.d.all_events() if blank(e)]), before)
        # Alone on a connection they are a probe (nmap's GenericLines), recorded.
        self.d.raw(b"\r\n\r\n", half_close=True)
        self.d.wait_events(blank, count=before + 1)

    def test_nul_bytes_are_recorded(self):
        ev = self.check(b"GET /nul HTTP/1.1\r\nHost: a\r\nX-N: a\x00b\r\n\r\n", 400, "nul_in_header")
        self.assertIn(b"a\x00b", raw_bytes(ev))

    def test_bare_lf_is_refused_as_apache_does(self):
        # Apache's strict reading wants CRLF (nginx takes a bare LF); the request is recorded.
        ev = self.check(b"GET /index.html?barelf HTTP/1.1\nHost: a\nConnection: close\n\n", 400, "bare_lf")
        self.assertEqual(ev["transaction"]["request"]["uri"], "/index.html?barelf")

    def test_bad_chunking(self):
        self.check(b"POST /c1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                   400, "bad_chunk_size")
        self.check(b"POST /c2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
                   400, "bad_chunk_end")
        # Apache frames by the chunks and drops the length (nginx refuses both at once), and
        # refuses a coding it does not know with 400 (nginx: 501).
        self.check(b"POST /c3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
                   b"Connection: close\r\n\r\n0\r\n\r\n", 404, "content_length_and_transfer_encoding")
        self.check(b"POST /c4 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
                   "unsupported_transfer_encoding")

    def test_oversized_parts(self):
        # A head too large: a 400, as the servers send it (not 431); limits_hit says which.
        self.check(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, limit="max_request_line",
                   marker=b"GET /aaaa")
        self.check(b"GET /bigheader HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 2000 + b"\r\n\r\n", 400,
                   limit="max_header_line", marker=b"GET /bigheader")
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(30))
        self.check(b"GET /manyheaders HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n", 400, limit="max_headers",
                   marker=b"GET /manyheaders")
        ev = self.check(b"POST /bigbody HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"c" * 9000,
                        413, limit="max_body_bytes", marker=b"POST /bigbody")
        self.assertTrue(ev["drosera"]["request"]["body_truncated"])

    def test_header_timeout_cuts_slow_clients(self):
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        start = time.time()
        s.sendall(b"GET /slowloris HTTP/1.1\r\nHost: a\r\n")
        data = b""
        try:
            while True:
                s.sendall(b"X-a: b\r\n")  # trickle headers, never finish
                time.sleep(0.2)
                if time.time() - start > 5:
                    break
        except OSError:
            pass
        data += read_until_closed(s)
        self.assertLess(time.time() - start, 5, "the slow client was not cut off")
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:100])
        ev = self.d.wait_events(by_raw(b"GET /slowloris"))[-1]
        self.assertIn("header_timeout", ev["drosera"]["limits_hit"])
        self.assertFalse(ev["drosera"]["request"]["head_complete"])

    def test_body_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        s.sendall(b"POST /slowbody HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:100])
        ev = self.d.wait_events(by_raw(b"POST /slowbody"))[-1]
        self.assertIn("body_timeout", ev["drosera"]["limits_hit"])
        self.assertEqual(ev["transaction"]["request"]["body"], "abc")

    def test_client_vanishing_mid_request_is_recorded(self):
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        s.sendall(b"GET /vanish?cmd=;cat%20/etc/passwd HTTP/1.1\r\nHost: a\r\n")
        time.sleep(0.2)
        s.close()
        ev = self.d.wait_events(by_raw(b"GET /vanish"))[-1]
        self.assertIn("incomplete_request", ev["drosera"]["anomalies"])
        self.assertIsNone(ev["drosera"]["answered_at"])

    def test_per_ip_connection_limit_answers_503_and_records(self):
        socks = [socket.create_connection(("127.0.0.1", self.d.real), timeout=10) for _ in range(5)]
        try:
            status, _, _ = self.send(b"GET /overlimit HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(status, 503)
            ev = self.d.wait_events(by_raw(b"GET /overlimit"))[-1]
            self.assertIn("max_connections_per_ip", ev["drosera"]["limits_hit"])
        finally:
            for s in socks:
                s.close()
        time.sleep(0.3)
        self.assertEqual(self.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")[0], 200)

    def test_idle_keep_alive_connection_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        start = time.time()
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))
        self.assertLess(time.time() - start, 4)

    def test_random_garbage_never_kills_the_sensor(self):
        import random
        rnd = random.Random(1234)
        for i in range(300):
            n = rnd.randint(1, 3000)
            blob = bytes(rnd.getrandbits(8) for _ in range(n))
            if i % 3 == 0:
                blob = b"GET /" + blob
            elif i % 3 == 1:
                blob = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + blob
            try:
                self.d.raw(blob, timeout=3, half_close=True)
            except OSError:
                pass
        self.assertTrue(self.d.alive())
        status, _, _ = self.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
