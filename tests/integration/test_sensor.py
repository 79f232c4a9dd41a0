"""The sensor over loopback: detections, listeners, HTTP features (issue 2, "Checked by")."""
import calendar
import email.utils
import gzip
import re
import socket
import ssl
import unittest

from harness import (Drosera, default_config, marked, parse_response, raw_bytes, rule_ids,
                     split_responses, BROWSER_HEADERS)


def header_names(data):
    """The header names of each response in `data`, in the order sent."""
    names = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        names.append([l.partition(":")[0] for l in lines[1:]])
        status = int(lines[0].split()[1])
        n = 0
        for l in lines[1:]:
            if l.lower().startswith("content-length:"):
                n = int(l.partition(":")[2])
        data = rest[0 if status == 304 else n:]
    return names


def dechunk(body):
    """The payload of a chunked body, and what follows its last chunk (None: no last chunk)."""
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out, rest[2:] if rest.startswith(b"\r\n") else None
        out += rest[:n]
        body = rest[n + 2:]
    return out, None


def pipeline(n, target=b"/about.html", ask_keep_alive=True):
    return b"".join(b"GET %s?k=%d HTTP/1.1\r\nHost: localhost\r\n%s\r\n"
                    % (target, i, b"Connection: keep-alive\r\n" if ask_keep_alive else b"")
                    for i in range(n))


class SensorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Drosera().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0, "drosera did not exit cleanly: %s" % rc

    def test_sql_injection_yields_942100(self):
        status, _, body = self.d.request("GET", "/products.php?id=1%27%20OR%201=1--%20", marker="sqli")
        self.assertEqual(status, 404)
        ev = self.d.wait_events(marked("sqli"))[0]
        self.assertIn(942100, rule_ids(ev))
        self.assertEqual(ev["drosera"]["inspection"]["state"], "inspected")
        self.assertGreaterEqual(ev["drosera"]["scores"]["inbound_anomaly_score"], 5)
        self.assertEqual(ev["transaction"]["request"]["uri"], "/products.php?id=1%27%20OR%201=1--%20")

    def test_xss_form_post_yields_941(self):
        body = "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&email=x%40example.com&subject=quote&message=hi"
        status, _, page = self.d.request("POST", "/contact.php", body=body, marker="xss",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertIn(b"</html>", page)
        ev = self.d.wait_events(marked("xss"))[0]
        self.assertTrue(any(941000 <= r < 942000 for r in rule_ids(ev)), rule_ids(ev))
        self.assertEqual(ev["transaction"]["request"]["body"], body)

    def test_scanner_user_agent_yields_913100(self):
        self.d.request("GET", "/", marker="nikto",
                       headers={"User-Agent": "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)"})
        ev = self.d.wait_events(marked("nikto"))[0]
        self.assertIn(913100, rule_ids(ev))

    def test_benign_page_view_is_recorded_without_rules(self):
        status, headers, body = self.d.request("GET", "/about.html", marker="benign")
        self.assertEqual(status, 200)
        self.assertTrue(headers["server"].startswith("Apache/2.4"))
        self.assertNotIn(b"drosera", body.lower())
        ev = self.d.wait_events(marked("benign"))[0]
        self.assertEqual(rule_ids(ev), [])
        self.assertEqual(ev["transaction"]["response"]["http_code"], 200)
        self.assertEqual(ev["drosera"]["listener"]["kind"], "real")

    def test_fake_port_is_recorded_with_its_port(self):
        status, _, _ = self.d.request("GET", "/", port=self.d.fake, marker="fake")
        self.assertEqual(status, 200)
        ev = self.d.wait_events(marked("fake"))[0]
        self.assertEqual(ev["drosera"]["listener"]["port"], self.d.fake)
        self.assertEqual(ev["drosera"]["listener"]["kind"], "fake")
        self.assertEqual(ev["transaction"]["host_port"], self.d.fake)

    def test_https_listener_serves_and_records_tls(self):
        status, _, body = self.d.request("GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", tls=True, marker="tls")
        self.assertEqual(status, 200)
        ev = self.d.wait_events(marked("tls"))[0]
        self.assertTrue(ev["drosera"]["listener"]["tls"])
        self.assertTrue(ev["drosera"]["listener"]["tls_version"].startswith("TLS"))
        self.assertTrue(any(941000 <= r < 942000 for r in rule_ids(ev)))
        # A folder without its slash: Apache's 301 names the scheme and the port it came to.
        out = self.d.raw(b"GET /assets HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n",
                         port=self.d.tls, tls=True)
        status, headers, _ = parse_response(out)
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://shop.example:%d/assets/" % self.d.tls)

    def test_plain_http_on_the_tls_port_is_answered_and_recorded(self):
        # As Apache: a 400 in clear that says so, not a closed connection without an event
        # (nmap's probes in clear on a TLS port went unrecorded).
        out = self.d.raw(b"GET /.env?plain=1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n", port=self.d.tls)
        status, headers, body = parse_response(out)
        self.assertEqual(status, 400)
        self.assertEqual(headers["connection"], "close")
        self.assertIn(b"speaking plain HTTP to an SSL-enabled server port", body)
        self.assertIn(b"Port %d" % self.d.tls, body)
        ev = self.d.wait_events(lambda e: e["transaction"]["request"]["uri"] == "/.env?plain=1")[0]
        self.assertIn("plain_http_on_tls_port", ev["drosera"]["anomalies"])
        self.assertFalse(ev["drosera"]["listener"]["tls"])
        self.assertEqual(ev["transaction"]["response"]["http_code"], 400)
        # TLS on the same port still works.
        status, _, _ = self.d.request("GET", "/", tls=True, marker="tls-after-plain")
        self.assertEqual(status, 200)

    def test_keep_alive_and_pipelining(self):
        # The first asks for keep-alive, as browsers do; the others do not, as curl does.
        reqs = b"".join(
            b"GET /news.html?n=%d HTTP/1.1\r\nHost: localhost\r\nX-Test-Marker: pipe\r\n%s\r\n"
            % (i, b"Connection: keep-alive\r\n" if i == 0 else b"")
            for i in range(5))
        reqs += b"GET /index.html?n=last HTTP/1.1\r\nHost: localhost\r\nX-Test-Marker: pipe\r\nConnection: close\r\n\r\n"
        out = self.d.raw(reqs)
        responses = split_responses(out)
        self.assertEqual([r[0] for r in responses], [200] * 6)
        # As Apache (ap_set_keepalive): its Keep-Alive header, counting this request, only to a
        # client that asked; the others keep the connection without either header.
        self.assertEqual(responses[0][1]["connection"], "Keep-Alive")
        self.assertTrue(responses[0][1]["keep-alive"].endswith(", max=100"), responses[0][1])
        self.assertNotIn("connection", responses[1][1])
        self.assertNotIn("keep-alive", responses[1][1])
        self.assertEqual(responses[-1][1]["connection"], "close")
        evs = self.d.wait_events(marked("pipe"), count=6)
        self.assertEqual(sorted(e["transaction"]["request"]["uri"] for e in evs),
                         sorted(["/news.html?n=%d" % i for i in range(5)] + ["/index.html?n=last"]))

    def test_apache_serves_max_keepalive_requests_plus_one(self):
        # As Apache with MaxKeepAliveRequests 100 (measured): request 1 announces max=100, request
        # 100 max=1, request 101 is answered with "Connection: close"; 101 answers.
        responses = split_responses(self.d.raw(pipeline(105, b"/about.html")))
        self.assertEqual(len(responses), 101)
        self.assertEqual(responses[0][1]["keep-alive"], "timeout=5, max=100")
        self.assertEqual(responses[98][1]["keep-alive"], "timeout=5, max=2")
        self.assertEqual(responses[99][1]["keep-alive"], "timeout=5, max=1")
        self.assertEqual(responses[99][1]["connection"], "Keep-Alive")
        self.assertEqual(responses[100][1]["connection"], "close")
        self.assertNotIn("keep-alive", responses[100][1])
        # The same without asking for keep-alive (curl): no announcements, the same count.
        responses = split_responses(self.d.raw(pipeline(105, b"/about.html", False)))
        self.assertEqual(len(responses), 101)
        self.assertNotIn("connection", responses[99][1])
        self.assertEqual(responses[100][1]["connection"], "close")

    def test_http10_closes_unless_keep_alive(self):
        out = self.d.raw(b"GET / HTTP/1.0\r\n\r\n")
        status, headers, _ = parse_response(out)
        self.assertEqual(status, 200)
        self.assertTrue(out.startswith(b"HTTP/1.1 200"))
        self.assertEqual(headers["connection"], "close")

    def test_gzip_as_apache_sends_it(self):
        # mod_deflate: the same page compressed, its ETag suffixed, the length that of the gzip;
        # recorded with the headers that were sent.
        get = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n"
        _, plain_headers, plain = parse_response(self.d.raw(get % b""))
        out = self.d.raw(get % b"Accept-Encoding: gzip, deflate, br\r\nX-Test-Marker: gzip-apache\r\n")
        status, headers, body = parse_response(out)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "gzip")
        self.assertEqual(headers["vary"], "Accept-Encoding")
        self.assertEqual(headers["etag"], plain_headers["etag"][:-1] + '-gzip"')
        self.assertEqual(int(headers["content-length"]), len(out.partition(b"\r\n\r\n")[2]))
        self.assertEqual(gzip.decompress(body), plain)
        names = header_names(out)[0]
        self.assertEqual(names[names.index("Vary"):names.index("Vary") + 3],
                         ["Vary", "Content-Encoding", "Content-Length"])
        ev = self.d.wait_events(marked("gzip-apache"))[0]
        self.assertEqual(ev["transaction"]["response"]["headers"]["Content-Encoding"], "gzip")
        # A honeytrap's page made "by a script" (the login form) goes through mod_deflate too.
        status, headers, body = parse_response(self.d.raw(
            b"GET /wp-login.php HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n"
            b"Connection: close\r\n\r\n"))
        self.assertEqual((status, headers["content-encoding"], headers["vary"]),
                         (200, "gzip", "Accept-Encoding"))
        self.assertIn(b"user_login", gzip.decompress(body))

    def test_chunked_request_body_is_decoded(self):
        payload = b"username=admin&password=' or 1=1--"
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 7]), payload[i:i + 7])
                          for i in range(0, len(payload), 7)) + b"0\r\n\r\n"
        out = self.d.raw(b"POST /login.php HTTP/1.1\r\nHost: localhost\r\nX-Test-Marker: chunked\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
        status, _, body = parse_response(out)
        self.assertEqual(status, 200)
        self.assertIn(b"Invalid username or password", body)
        ev = self.d.wait_events(marked("chunked"))[0]
        self.assertEqual(ev["transaction"]["request"]["body"], payload.decode())
        self.assertTrue(any(942000 <= r < 943000 for r in rule_ids(ev)), rule_ids(ev))

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.d.real), timeout=10)
        s.sendall(b"POST /newsletter.php HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        first = s.recv(100)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue"), first)
        s.sendall(b"email=a%40b.com")
        rest = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            rest += b
        s.close()
        self.assertEqual(parse_response(rest)[0], 200)

    def test_head_sends_headers_only(self):
        out = self.d.raw(b"HEAD /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"200 OK", head)
        self.assertEqual(body, b"")
        self.assertNotIn(b"Content-Length: 0", head)

    def test_realistic_404_and_login_failure(self):
        status, headers, body = self.d.request("GET", "/wp-admin/setup-config.php")
        self.assertEqual(status, 404)
        self.assertIn(b"The requested URL was not found on this server.", body)
        self.assertIn(b"Apache/2.4", body)
        status, _, body = self.d.request("POST", "/login.php", body="username=admin&password=admin",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertIn(b"Invalid username or password", body)
        self.assertNotIn(b"{{message}}", body)

    def test_event_keeps_raw_bytes_and_ids(self):
        self.d.request("GET", "/?a=%00%ff", marker="rawbytes")
        ev = self.d.wait_events(marked("rawbytes"))[0]
        self.assertIn(b"X-Test-Marker: rawbytes", raw_bytes(ev))
        self.assertTrue(ev["transaction"]["unique_id"])
        self.assertEqual(ev["drosera"]["sensor"], ev["transaction"]["server_id"])
        self.assertEqual(ev["transaction"]["producer"]["components"], ["OWASP_CRS/3.3.4"])

    def test_status_reports_queue_and_counts(self):
        st = self.d.status()
        for key in ("backlog", "queue_memory", "lag_ms", "inspected", "uninspected"):
            self.assertIn(key, st["inspection"])
        self.assertGreater(st["server"]["requests"], 0)


NGINX_LISTENERS = """
[[server.listener]]
port = 0
kind = "real"
persona = "nginx"
"""

# What a real nginx 1.22.1 on Debian sends (measured over loopback): its header filter's own
# headers, Connection, then the listed ones (ETag, Accept-Ranges); no Vary (gzip_vary off).
NGINX_FILE = ["Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Connection",
              "ETag", "Accept-Ranges"]


class NginxPersonaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No cookie trap: a real nginx sets no cookie on a static file.
        cls.d = Drosera(default_config("[traps]\ncookie = false\n",
                                       listeners=NGINX_LISTENERS)).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0, "drosera did not exit cleanly: %s" % rc

    def get(self, target, extra=b"", method=b"GET"):
        return self.d.raw(b"%s %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n"
                          % (method, target, extra))

    def assert_nginx_etag(self, headers, body_len):
        # ngx_http_set_etag(): "<mtime seconds>-<size>" in hex, the time that of Last-Modified.
        m = re.fullmatch(r'"([0-9a-f]+)-([0-9a-f]+)"', headers["etag"])
        self.assertIsNotNone(m, headers["etag"])
        mtime = calendar.timegm(email.utils.parsedate(headers["last-modified"]))
        self.assertEqual(int(m.group(1), 16), mtime)
        self.assertEqual(int(m.group(2), 16), body_len)

    def test_static_file_200_head_and_304_as_nginx_sends_them(self):
        for target in (b"/about.html", b"/favicon.ico", b"/robots.txt"):  # robots.txt is baited
            out = self.get(target)
            status, headers, body = parse_response(out)
            self.assertEqual(status, 200, target)
            self.assertEqual(header_names(out), [NGINX_FILE], target)
            self.assertNotIn("vary", headers)
            self.assertEqual(headers["connection"], "close")
            self.assert_nginx_etag(headers, len(body))
            head = self.get(target, method=b"HEAD")
            self.assertEqual(header_names(head), [NGINX_FILE], target)
            self.assertEqual(parse_response(head)[1]["etag"], headers["etag"])
            again = self.get(target, b"If-None-Match: %s\r\n" % headers["etag"].encode())
            self.assertEqual(parse_response(again)[0], 304, target)
            self.assertEqual(header_names(again),
                             [["Server", "Date", "Last-Modified", "Connection", "ETag"]], target)
        self.assertEqual(parse_response(self.get(b"/favicon.ico"))[1]["content-type"],
                         "image/x-icon")

    def test_keep_alive_connection_header_comes_before_the_etag(self):
        out = self.d.raw(pipeline(2))
        self.assertEqual(header_names(out), [NGINX_FILE, NGINX_FILE])
        self.assertEqual([r[1]["connection"] for r in split_responses(out)],
                         ["keep-alive", "keep-alive"])

    def test_404_and_a_bait_file(self):
        out = self.get(b"/no-such-page")
        self.assertEqual(parse_response(out)[0], 404)
        self.assertEqual(header_names(out),
                         [["Server", "Date", "Content-Type", "Content-Length", "Connection"]])
        out = self.get(b"/.env")
        self.assertEqual(parse_response(out)[0], 200)
        names = header_names(out)[0]
        self.assertEqual(names[:6], NGINX_FILE[:6])  # Last-Modified, then Connection

    def test_gzip_as_nginx_sends_it(self):
        # gzip on: text/html only, chunked, a weak ETag, no Accept-Ranges; pipelined answers
        # stay in step.
        get = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\n%s\r\n"
        _, plain_headers, plain = parse_response(self.get(b"/about.html"))
        out = self.d.raw(get % b"Accept-Encoding: gzip\r\n" + get % b"Accept-Encoding: gzip\r\n" +
                         get % b"Connection: close\r\n")
        first, _, rest = out.partition(b"\r\n\r\n")
        status, headers, _ = parse_response(first + b"\r\n\r\n")
        self.assertEqual(status, 200)
        self.assertEqual(header_names(first + b"\r\n\r\n")[0],
                         ["Server", "Date", "Content-Type", "Last-Modified", "Transfer-Encoding",
                          "Connection", "ETag", "Content-Encoding"])
        self.assertEqual(headers["etag"], "W/" + plain_headers["etag"])
        payload, after = dechunk(rest)
        self.assertEqual(gzip.decompress(payload), plain)
        self.assertTrue(after.startswith(b"HTTP/1.1 200 OK\r\n"), after[:40])  # in step
        second, _, rest = after.partition(b"\r\n\r\n")
        payload, after = dechunk(rest)
        self.assertEqual(gzip.decompress(payload), plain)
        _, headers, body = parse_response(after)
        self.assertNotIn("content-encoding", headers)  # the third did not ask
        self.assertEqual(body, plain)
        # Not for CSS, nor for HTTP/1.0.
        css = self.d.raw(b"GET /assets/css/main.css HTTP/1.1\r\nHost: localhost\r\n"
                         b"Accept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        self.assertEqual(parse_response(css)[0], 200)
        self.assertNotIn(b"Content-Encoding", css.partition(b"\r\n\r\n")[0])
        old = self.d.raw(b"GET /about.html HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n")
        self.assertNotIn(b"Content-Encoding", old.partition(b"\r\n\r\n")[0])
        self.assertEqual(parse_response(old)[0], 200)
        self.assertEqual(old.partition(b"\r\n\r\n")[2], plain)

    def test_nginx_closes_on_request_max_keepalive_requests(self):
        # keepalive_requests 1000 (nginx's default, where Apache's is 100): the 1000th answer
        # closes.
        responses = split_responses(self.d.raw(pipeline(1005), timeout=30))
        self.assertEqual(len(responses), 1000)
        self.assertEqual(responses[998][1]["connection"], "keep-alive")
        self.assertEqual(responses[999][1]["connection"], "close")


if __name__ == "__main__":
    unittest.main()
