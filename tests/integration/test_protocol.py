"""How requests are read, drosera against the real servers it imitates: malformed and unusual
request lines, versions, headers, framing and HTTP/0.9, sent as raw bytes to drosera (persona
apache and nginx), to Apache 2.4 (Debian's modules, HttpProtocolOptions Strict by default) and
to nginx 1.22, on loopback, serving the same files. Everything up to the close must be the same
but the date, the server's version and the port (src/http/parser.h: Dialect).

Not compared, because drosera answers them differently (docs/sensor.md): Apache's interim
"100 Continue" when it reads a body that was expected, and its 417 to another Expect; nginx's
answer to a request whose chunked body is broken (it answers the request, then closes)."""
import os
import re
import shutil
import tempfile
import unittest

import harness
import real_servers
from real_servers import exchange, neutral_page

FILES = ["/index.html", "/robots.txt"]
CASES = [
    # request lines
    b"GARBAGE\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/9.9\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.2\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/0.9\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/10.0\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x http/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x FOO/1.1\r\nHost: a\r\n\r\n",
    b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET  /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET\t/x\tHTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /%00 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.1\nHost: a\nConnection: close\n\n",
    b"GET /x HTTP/1.0\r\n\r\n",
    # HTTP/0.9: the body alone (or the 400 page, with or without a head)
    b"GET /x\r\n", b"GET /index.html\r\n", b"GET /x \r\n", b"HEAD /x\r\n", b"POST /x\r\n",
    # headers
    b"GET /h1 HTTP/1.1\r\nHost: a\r\nNoColonHere\r\nConnection: close\r\n\r\n",
    b"GET /h2 HTTP/1.1\r\nHost: a\r\nX-Bad : v\r\nConnection: close\r\n\r\n",
    b"GET /h3 HTTP/1.1\r\nHost: a\r\nX_Under: v\r\nConnection: close\r\n\r\n",
    b"GET /h4 HTTP/1.1\r\nHost: a\r\nX(b): v\r\nConnection: close\r\n\r\n",
    b"GET /h5 HTTP/1.1\r\nHost: a\r\nX-A: v\r\n  folded\r\nConnection: close\r\n\r\n",
    b"GET /h6 HTTP/1.1\r\nHost: a\r\n: v\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: \xff\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.1\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n",
    # framing
    b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\n0\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
]
# Apache's page about a broken chunked body has no length: it goes up to the close.
APACHE_ONLY = [b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"]


def normalised(data):
    """Everything up to the close, but the date, validators, the server's version and the port
    (and the length of Apache's pages, whose doctype 2.4.71 writes longer)."""
    data = re.sub(rb"(Date|Server|ETag|Last-Modified): [^\r]*", rb"\1: *", data)
    head, body = (data.split(b"\r\n\r\n", 1) + [b""])[:2] if data.startswith(b"HTTP/") \
        else (b"", data)
    doctype = re.match(rb"^<!DOCTYPE[^>]*>", body)
    if doctype:
        head = re.sub(rb"Content-Length: (\d+)",
                      lambda m: b"Content-Length: %d" % (int(m.group(1)) - len(doctype.group(0))),
                      head)
    return head + b"\r\n\r\n" + neutral_page(body)


class ProtocolAgainstRealServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if real_servers.missing():
            raise unittest.SkipTest("not installed (scripts/install-deps.sh test): %s"
                                    % real_servers.missing())
        cls.tmp = tempfile.mkdtemp(prefix="drosera-protocol-")
        os.chmod(cls.tmp, 0o755)
        cls.procs = []
        listeners = "".join(
            '\n[[server.listener]]\nport = 0\nkind = "real"\npersona = "%s"\n' % p
            for p in ("apache", "nginx"))
        cls.d = harness.Drosera(harness.default_config("[traps]\ncookie = false\n", listeners))
        cls.d.start()
        ports = [l["port"] for l in cls.d.status()["listeners"]]
        assert len(ports) == 2, ports
        cls.ports = {"drosera-apache": ports[0], "drosera-nginx": ports[1]}
        www = os.path.join(cls.tmp, "www")
        real_servers.mirror(cls.ports["drosera-apache"], FILES, www)
        proc, cls.ports["apache"] = real_servers.start_apache(
            cls.tmp, www, "Options FollowSymLinks\n  Require all granted")
        cls.procs.append(proc)
        proc, cls.ports["nginx"] = real_servers.start_nginx(cls.tmp, www)
        cls.procs.append(proc)

    @classmethod
    def tearDownClass(cls):
        real_servers.stop(cls.procs)
        cls.d.stop()
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_requests_are_read_as_the_server_reads_them(self):
        for persona in ("apache", "nginx"):
            cases = CASES + (APACHE_ONLY if persona == "apache" else [])
            diffs, statuses = [], set()
            for raw in cases:
                mine = normalised(exchange(self.ports["drosera-" + persona], raw))
                real = normalised(exchange(self.ports[persona], raw))
                m = re.match(rb"HTTP/1\.1 (\d+)", real)
                statuses.add(int(m.group(1)) if m else 9)  # 9: HTTP/0.9, a body alone
                if mine != real:
                    diffs.append("%s %r:\n  drosera %r\n  real    %r" % (persona, raw, mine, real))
            self.assertEqual(diffs[:3], [], "%d of %d differ" % (len(diffs), len(cases)))
            expected = {9, 200, 400, 404} | ({501, 505} if persona == "nginx" else set())
            self.assertEqual(statuses, expected, persona)

    def test_events_record_what_was_sent(self):
        # An HTTP/0.9 request and a refused one are events like any other.
        exchange(self.ports["drosera-apache"], b"GET /zero-nine\r\n")
        exchange(self.ports["drosera-apache"], b"GET /ctl HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n")
        uri = lambda e: e["transaction"]["request"]["uri"]
        zero = self.d.wait_events(lambda e: uri(e) == "/zero-nine")[-1]
        self.assertIn("http09", zero["drosera"]["anomalies"])
        self.assertEqual(zero["transaction"]["response"]["http_code"], 404)
        ctl = self.d.wait_events(lambda e: uri(e) == "/ctl")[-1]
        self.assertIn("control_in_header", ctl["drosera"]["anomalies"])
        self.assertEqual(ctl["transaction"]["response"]["http_code"], 400)


if __name__ == "__main__":
    unittest.main()
