"""How requests are read, drosera against the real servers it imitates: malformed and unusual
request lines, versions, headers, framing and HTTP/0.9, sent as raw bytes to drosera (persona
apache and nginx), to Apache 2.4 (Debian's modules, HttpProtocolOptions Strict by default) and
to nginx 1.22, on loopback, serving the same files. Everything up to the close must be the same
but the date, the server's version and the port (src/http/parser.h: Dialect)."""
import base64
import concurrent.futures
import re
import socket
import time
import unittest

import real_servers
from real_servers import exchange, neutral_page

FILES = ["/index.html", "/robots.txt", "/assets/css/main.css"]
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
    b"GET / HTTP/1.1 \r\nHost: a\r\nConnection: close\r\n\r\n",
    b"\n\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/2\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/2x\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/01.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.01\r\nHost: a\r\nConnection: close\r\n\r\n",
    # HTTP/0.9: the body alone (or the 400 page, with or without a head)
    b"GET /x\r\n", b"GET /index.html\r\n", b"GET /x \r\n", b"HEAD /x\r\n", b"POST /x\r\n",
    b"GET /x\n", b"GET index.html\r\n", b"GET /\x01\r\n", b"get /x\r\n", b"G(T /x\r\n",
    # a HEAD refused: no page (a length from nginx)
    b"HEAD /x HTTP/1.1\r\nHost: a b\r\n\r\n", b"HEAD /x HTTP/1.1\r\nHost: a\r\nX(b): 1\r\nConnection: close\r\n\r\n",
    b"HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"HEAD /a b HTTP/1.1\r\nHost: a\r\n\r\n", b"HEAD /x HTTP/1.1\r\n\r\n",
    b"HEAD /x HTTP/9.9\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"HEAD /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
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
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
    b"Content-Length: 3\r\nConnection: close\r\n\r\n0\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
    b"Content-Length: 4\r\nConnection: close\r\n\r\n0\r\n\r\n",
]
# Expect: Apache says 100 Continue before any answer to a head that announced a body, even one
# that came along, and refuses any other expectation (417, naming it); nginx says it before a
# request it serves, and ignores the rest.
EXPECT = [
    b"GET /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    b"POST /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
    b"Connection: close\r\n\r\nabc",
    b"PUT /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
    b"Connection: close\r\n\r\nabc",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n",
    b"GET /index.html HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n"
    b"Connection: close\r\n\r\na",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n0\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: <b>\r\nConnection: close\r\n\r\n",
    b"GET /nope HTTP/1.0\r\nHost: a\r\nExpect: foo\r\n\r\n",
    b"HEAD /nope HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect:\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nExpect: foo\r\n"
    b"Connection: close\r\n\r\n",
]
# A broken chunked body: Apache's page about it has no length (it goes up to the close); nginx
# answers the request as if the body were fine (it reads the body afterwards), then closes.
BROKEN_BODY = [
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"POST /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
]

# Parts of a request, and nothing more for a while: nginx answers as soon as a byte cannot
# belong to a request it takes (a TLS hello on a plain port, a lowercase method, a control byte,
# a space in a header name...); Apache waits for the line's end.
_HEAD = b"GET /x HTTP/1.1\r\nHost: a\r\n"
PARTIAL = [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"def", b"get /", b"G@T /x", b"GET\t", b"GET 1",
    b"GET *", b"GET", b"GET h", b"GET http:/x", b"GET http://", b"GET  /", b"\r\n\r\ng", b"-",
    b"GET /a b", b"GET /a  ", b"GET /x h", b"GET /x http", b"GET /x HTTP", b"GET /x HTTP/0",
    b"GET /x HTTP/2", b"GET /x HTTP/12", b"GET /x HTTP/1.", b"GET /x HTTP/1.1x",
    b"GET /x HTTP/1.1234", b"GET /a HTTP/1.1 x", b"GET /a HTTP/1.1 ", b"GET /x HTTP/1.1\r",
    b"GET /x\x01", b"GET /x\x7f", b"GET /x\x80", b"GET /\x00",
    _HEAD + b"X: a\x01", _HEAD + b"X: a\x00", _HEAD + b"X\t", _HEAD + b" folded", _HEAD + b"_x",
    _HEAD + b"X@y", _HEAD + b":x", _HEAD + b"X\x7f", _HEAD + b"X\x80", _HEAD + b"X y: z",
    _HEAD + b"X:\x01", _HEAD + b"X: a\r",
    # an expectation Apache refuses: it reads the body first (nginx ignores it: its 405 at once)
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: 10\r\n\r\n",
    # a head refused for its Host, with a body still to come: both answer at once
    b"POST / HTTP/1.1\r\nHost: a b\r\nContent-Length: 10\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 10\r\n\r\n",
]



def _head(lines, target=b"/x"):
    return (b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" + b"".join(lines)
            + b"\r\n")


def _field(size, name=b"X"):
    """A header line of `size` bytes but its line end."""
    return name + b": " + b"b" * (size - len(name) - 2) + b"\r\n"


def _target(size):
    """The target of a request line of `size` bytes: folders of 200 characters."""
    return ((b"/" + b"a" * 199) * (size // 200 + 1))[:size - len(b"GET  HTTP/1.1")]


# Heads at the servers' limits: Apache takes a line a byte longer than its 8190, 100 fields, a
# repeated field joined to 8190 bytes; nginx 1000 lines in its header buffers (1 KiB, then four
# of 8 KiB, a line that does not fit going whole into the next); both send a 400, nginx's page
# about a head too large. Apache refuses a name longer than a folder takes (403).
BIG_HEAD = [
    _head([_field(8190)]), _head([_field(8191)]), _head([_field(8192)]),
    _head([], _target(8190)), _head([], _target(8191)), _head([], _target(8192)),
    # (a path of 4050 bytes maps to a file name below Debian's DocumentRoot and below the test's,
    # one of 4200 to neither: Apache's 403)
    _head([], _target(4050 + 13)), _head([], _target(4200 + 13)),
    _head([_field(9, b"X%02d" % i) for i in range(98)]),
    _head([_field(9, b"X%02d" % i) for i in range(99)]),
    _head([_field(9, b"X%03d" % i) for i in range(998)]),
    _head([_field(9, b"X%03d" % i) for i in range(999)]),
    _head([_field(4097)] * 2), _head([_field(4098)] * 2),
    _head([_field(4102, b"Cookie")] * 2), _head([_field(4103, b"Cookie")] * 2),
    _head([_field(600, b"X%02d" % i) for i in range(53)]),
    _head([_field(600, b"X%02d" % i) for i in range(54)]),
    _head([_field(4000, b"X%d" % i) for i in range(8)]),
    _head([_field(4000, b"X%d" % i) for i in range(9)]),
    _head([], b"/" + b"a" * 255), _head([], b"/" + b"a" * 256),
    _head([], b"/assets/" + b"a" * 256), _head([], b"/assets/" + b"a" * 256 + b"/x"),
    _head([], b"/index.html/" + b"a" * 256), _head([], b"/x/" + b"a" * 256),
    # found by http_parser_fuzz: nginx refuses at the first byte it cannot take, read whole too
    _head([b"Ab cd\r\n"]), b"GET &/x HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"get /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
]


def read_for(s, wait, enough=lambda data: False):
    """What arrives on `s` until the close, until enough(data), or until `wait` s pass without
    a byte; and whether the server closed."""
    s.settimeout(wait)
    data = b""
    try:
        while not enough(data):
            b = s.recv(65536)
            if not b:
                return data, True
            data += b
    except socket.timeout:
        pass
    return data, False


def normalised(data):
    """Everything up to the close, but the date, validators, the server's version, the port and
    Allow's order (and the length of Apache's pages, whose doctype 2.4.71 writes longer)."""
    data = re.sub(rb"(Date|Server|ETag|Last-Modified): [^\r]*", rb"\1: *", data)
    # Apache's Allow comes in one of four rotations (test_methods)
    data = re.sub(rb"Allow: ([^\r]*)",
                  lambda m: b"Allow: " + b",".join(sorted(m.group(1).split(b","))), data)
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    if data.startswith(interim):
        return interim + normalised(data[len(interim):])
    head, body = (data.split(b"\r\n\r\n", 1) + [b""])[:2] if data.startswith(b"HTTP/") \
        else (b"", data)
    doctype = re.match(rb"^<!DOCTYPE[^>]*>", body)
    if doctype:
        head = re.sub(rb"Content-Length: (\d+)",
                      lambda m: b"Content-Length: %d" % (int(m.group(1)) - len(doctype.group(0))),
                      head)
    return head + b"\r\n\r\n" + neutral_page(body)


class ProtocolAgainstRealServers(real_servers.AgainstRealServers):
    FILES = FILES
    APACHE_DIRECTORY = "Options FollowSymLinks\n  Require all granted"

    def test_requests_are_read_as_the_server_reads_them(self):
        for persona in ("apache", "nginx"):
            cases = CASES + EXPECT + BROKEN_BODY + BIG_HEAD
            diffs, statuses = [], set()
            for raw in cases:
                mine = normalised(exchange(self.ports["drosera-" + persona], raw))
                real = normalised(exchange(self.ports[persona], raw))
                m = re.match(rb"HTTP/1\.1 (\d+)", real)
                statuses.add(int(m.group(1)) if m else 9)  # 9: HTTP/0.9, a body alone
                if mine != real:
                    diffs.append("%s %r:\n  drosera %r\n  real    %r" % (persona, raw, mine, real))
            self.assertEqual(diffs[:3], [], "%d of %d differ" % (len(diffs), len(cases)))
            expected = {9, 100, 200, 400, 404, 414} | (
                {405, 501, 505} if persona == "nginx" else {403, 417})
            self.assertEqual(statuses, expected, persona)

    def test_a_request_that_cannot_be_one_is_refused_when_the_server_refuses_it(self):
        def answer(port, raw):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(raw)
                data, closed = read_for(s, 0.6)
            return (b"" if closed else b"(waits)") + (normalised(data) if data else b"")

        jobs = [(persona, raw) for persona in ("nginx", "apache") for raw in PARTIAL]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            mine = list(pool.map(lambda j: answer(self.ports["drosera-" + j[0]], j[1]), jobs))
            real = list(pool.map(lambda j: answer(self.ports[j[0]], j[1]), jobs))
        diffs = ["%s %r:\n  drosera %r\n  real    %r" % (j[0], j[1], m[:200], r[:200])
                 for j, m, r in zip(jobs, mine, real) if m != r]
        self.assertEqual(diffs[:3], [], "%d of %d differ" % (len(diffs), len(jobs)))
        refused = [m.split(b"\r\n")[0] for (p, _), m in zip(jobs, mine) if p == "nginx"]
        self.assertEqual(len([r for r in refused if r.startswith(b"HTTP/1.1 400")]), 27, refused)
        self.assertEqual(len([r for r in refused if r.startswith(b"HTTP/1.1 505")]), 2, refused)
        self.assertTrue(all(m.startswith(b"(waits)") for (p, raw), m in zip(jobs, mine)
                            if p == "apache" and raw not in PARTIAL[-2:]))
        # Refused at once, recorded as it came.
        nginx = self.ports["drosera-nginx"]
        hello = self.d.wait_events(
            lambda e: e["drosera"]["listener"]["port"] == nginx and
            base64.b64decode(e["drosera"]["raw"]).startswith(b"\x16\x03\x01"))[-1]
        self.assertEqual(hello["transaction"]["response"]["http_code"], 400)
        self.assertIn("incomplete_line", hello["drosera"]["anomalies"])

    def test_a_body_still_to_come_is_awaited_as_the_server_awaits_it(self):
        # A head that announces a body which does not come (yet): nginx answers what it serves
        # itself at once and reads the body afterwards, on the same connection; Apache waits.
        heads = [b"POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
                 b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
                 b"PUT /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
                 b"DELETE /nope HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                 b"POST /nope HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                 b"Content-Length: 10\r\n\r\n",
                 b"GET /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
                 b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                 b"Content-Length: 10\r\n\r\n"]
        rest = {b"C": b"0123456789", b"T": b"3\r\nabc\r\n0\r\n\r\n"}
        then = b"GET /robots.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

        def statuses(port, head):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(head)
                first, _ = read_for(s, 0.6, lambda data: b"\r\n\r\n" in data)
                s.sendall(rest[b"T" if b"chunked" in head else b"C"] + then)
                more, _ = read_for(s, 10)
            return first[:12], re.findall(rb"HTTP/1\.1 \d+", first + more)

        for persona in ("nginx", "apache"):
            for head in heads:
                mine = statuses(self.ports["drosera-" + persona], head)
                real = statuses(self.ports[persona], head)
                self.assertEqual(mine, real, "%s %r" % (persona, head))
                if persona == "nginx":  # an answer (after a 100 Continue for a file it serves)
                    self.assertNotEqual(mine[0], b"", head)
                else:  # at most a 100 Continue
                    self.assertIn(mine[0], (b"", b"HTTP/1.1 100"), head)
        # A length over nginx's limit: its 413 at once, then the body is read and thrown away
        # before the close (Apache reads such a body: not imitated, docs/sensor.md).
        def after_413(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n")
                answer, closed_early = read_for(s, 0.5)
                s.sendall(b"x" * 2000000)
                _, closed = read_for(s, 4)
            return answer[:12], closed_early, closed

        for port in (self.ports["drosera-nginx"], self.ports["nginx"]):
            self.assertEqual(after_413(port), (b"HTTP/1.1 413", False, True), port)
        # The capture has the body that came after the answer.
        port = self.ports["drosera-nginx"]
        statuses(port, b"POST /late-body HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n")
        late = self.d.wait_events(
            lambda e: e["transaction"]["request"]["uri"] == "/late-body")[-1]
        self.assertEqual(late["transaction"]["request"]["body"], "0123456789")
        self.assertEqual(late["transaction"]["response"]["http_code"], 404)
        self.assertEqual(late["drosera"]["limits_hit"], [])

    def test_a_body_that_does_not_come_after_the_answer_is_recorded_as_far_as_it_came(self):
        # nginx closes when no more of it came for 5 s; a client may also go away first.
        port = self.ports["drosera-nginx"]
        waits = socket.create_connection(("127.0.0.1", port), timeout=15)
        started = time.monotonic()
        waits.sendall(b"POST /never HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        first = waits.recv(65536)
        self.assertTrue(first.startswith(b"HTTP/1.1 404"), first)
        gone = socket.create_connection(("127.0.0.1", port), timeout=10)
        gone.sendall(b"POST /gone HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\nwxyz\r\n2\r\nq")
        self.assertTrue(gone.recv(65536).startswith(b"HTTP/1.1 404"))
        gone.close()
        while waits.recv(65536):
            pass
        waited = time.monotonic() - started
        waits.close()
        self.assertGreater(waited, 4.5)
        self.assertLess(waited, 8)
        uri = lambda e: e["transaction"]["request"]["uri"]
        never = self.d.wait_events(lambda e: uri(e) == "/never")[-1]
        self.assertEqual(never["transaction"]["request"]["body"], "abc")
        self.assertEqual(never["drosera"]["limits_hit"], ["body_timeout"])
        self.assertEqual(never["transaction"]["response"]["http_code"], 404)
        gone = self.d.wait_events(lambda e: uri(e) == "/gone")[-1]
        self.assertEqual(gone["transaction"]["request"]["body"], "wxyzq")
        self.assertIn("incomplete_request", gone["drosera"]["anomalies"])
        # Each once.
        self.assertEqual(len([e for e in self.d.all_events() if uri(e) in ("/never", "/gone")]), 2)

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
