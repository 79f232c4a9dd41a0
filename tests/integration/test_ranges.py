"""Range requests, drosera against the real servers it imitates: the same files served by
drosera (persona apache and nginx), by Apache 2.4 with Debian's modules (mod_deflate and its
deflate.conf included) and by nginx 1.22 with Debian's `gzip on`, on loopback. Every case goes
to all four; status, header names in order, the values that do not depend on the server's
version or the file's time, and the body must be the same (src/http/ranges.h)."""
import os
import random
import re
import time
import unittest

from real_servers import exchange, neutral_page, request
import real_servers

# The site's home page (text/html: what nginx compresses), a style sheet, an icon, the bait.
FILES = ["/index.html", "/assets/css/main.css", "/favicon.ico", "/robots.txt"]


def normalised(status, headers, body, occurrences=None):
    """What must agree: the status, the header names in order, values but those that name the
    server's version or the file's time, and the body with the boundary made neutral."""
    boundary = None
    out = []
    for name, value in headers:
        if name in ("Date", "Server", "ETag", "Last-Modified"):
            value = "*"
        m = re.match(r"multipart/byteranges; boundary=(.*)$", value)
        if name == "Content-Type" and m:
            boundary = m.group(1)
            value = "multipart/byteranges; boundary=B"
        out.append((name, value))
    if ("Transfer-Encoding", "chunked") in out:
        # Each chunk's bytes, the split between them compared, not their sizes (which count
        # the boundary).
        chunks, rest = [], body
        while True:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            chunks.append(rest[:n])
            rest = rest[n + 2:]
        body = b"<chunk>".join(chunks) + b"<end>" + rest
    if boundary:
        # Apache's boundary is 64 random bits in hex, 16 digits or fewer: the length is
        # compared as if it were one letter.
        n = body.count(boundary.encode()) if occurrences is None else occurrences
        out = [(k, str(int(v) - n * (len(boundary) - 1)) if k == "Content-Length" else v)
               for k, v in out]
        body = body.replace(boundary.encode(), b"B")
    return status, out, neutral_page(body), boundary


def range_values(rng, length):
    """Range values of every shape the parsers treat differently, and random ones."""
    fixed = [
        "bytes=0-9", "bytes=10-", "bytes=-10", "bytes=0-0,5-6", "bytes=0-5,3-8",
        "bytes=%d-" % length, "bytes=%d-%d" % (length - 1, length + 5), "bytes=-%d" % (length + 9),
        "bytes=abc", "bytes=5-2", "items=0-3", "bytes = 0-3", "bytes=0-3 , 6-7", "BYTES=0-3",
        "bytes=0-3,", "bytes=-0", "bytes=3-1,5-6", "bytes=5-6,0-1", "bytes=0-1,%d-" % (length + 10),
        "bytes=2-3,0-", "bytes=0-,2-3", "bytes=0-1,2-3", "bytes=4-5,0-2,3-3", "bytes=0-1,,4-5",
        "bytes=,0-1", "bytes=", "bytes=-", "bytes=+1-2", "bytes= 1-2", "bytes=1 -2", "bytes=1- 2",
        "bytes=99999999999999999999-", "bytes=1-99999999999999999999", "bytes=0x10-0x20",
        "bytes=%s" % ",".join("%d-%d" % (i, i) for i in range(0, 2 * 201, 2)),
        "bytes=%s" % ",".join("0-%d" % i for i in range(205)),
        "bytes=%s" % ",".join("%d-%d" % (i, i + 1) for i in range(300, 0, -1)),
        "bytes=1-1,-1", "bytes=0-%d,0-0" % (length - 1),
        # Apache's limits: 200 ranges, 20 overlaps, 20 reversals.
        "bytes=%s" % ",".join(["0-0"] * 21), "bytes=%s" % ",".join(["0-0"] * 22),
        "bytes=%s" % ",".join("%d-%d" % (i, i) for i in range(40, -1, -2)),
        "bytes=%s" % ",".join("%d-%d" % (i, i) for i in range(42, -1, -2)),
        "bytes=%s" % ",".join("%d-%d" % (i, i) for i in range(0, 400, 2)),
    ]
    out = list(fixed)
    edges = [0, 1, 2, 9, length // 2, length - 2, length - 1, length, length + 1, 10 * length]

    def number():
        return rng.choice(edges) if rng.random() < 0.6 else rng.randrange(0, length + 20)

    def one():
        shape = rng.random()
        if shape < 0.4:
            a, b = number(), number()
            return "%d-%d" % (min(a, b), max(a, b)) if rng.random() < 0.85 else "%d-%d" % (a, b)
        if shape < 0.6:
            return "%d-" % number()
        if shape < 0.8:
            return "-%d" % number()
        return rng.choice(["x", "1", "-", "1-2-3", " 4-5", "4-5 ", "--3", "2--1", ""])

    for _ in range(260):
        n = rng.choice([1, 1, 2, 2, 3, 4, 6])
        sep = rng.choice([",", ",", ", ", ",,"])
        out.append(rng.choice(["bytes=", "bytes=", "Bytes="]) + sep.join(one() for _ in range(n)))
    return out


class RangesAgainstRealServers(real_servers.AgainstRealServers):
    FILES = FILES

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lengths = {p: n for p, (n, _) in cls.copied.items()}
        cls.mtimes = {p: t for p, (_, t) in cls.copied.items()}

    def validators(self, port, path):
        _, headers, _ = request(port, path, [], method="HEAD")
        h = dict(headers)
        return h.get("ETag", ""), h.get("Last-Modified", "")

    def compare(self, persona, path, headers, method="GET", seen=None, version="1.1"):
        """Sends the case to drosera and to the real server; returns the real status."""
        answers = {}
        for who in ("drosera-" + persona, persona):
            port = self.ports[who]
            etag, lm = self.validators(port, path)
            hs = [(n, v.replace("{etag}", etag).replace("{lm}", lm)) for n, v in headers]
            occurrences = None
            if method == "HEAD":  # a HEAD's length counts the boundaries its GET would send
                _, got_headers, got_body = request(port, path, hs, "GET", version)
                m = re.search(r"boundary=(.*)$", dict(got_headers).get("Content-Type", ""))
                occurrences = got_body.count(m.group(1).encode()) if m else None
            answers[who] = normalised(*request(port, path, hs, method, version), occurrences)
        mine, real = answers["drosera-" + persona], answers[persona]
        what = "%s %s %s %s" % (persona, method, path, headers)
        self.assertEqual(mine[0], real[0], what)
        self.assertEqual(mine[1], real[1], what)
        self.assertEqual(mine[2], real[2], what)
        if real[3]:
            self.assertRegex(mine[3], r"^[1-9a-f][0-9a-f]{0,15}$" if persona == "apache" else r"^\d{20}$")
        if seen is not None:
            seen.add(real[0])
        return real[0]

    def test_random_and_edge_ranges(self):
        rng = random.Random(int(os.environ.get("DROSERA_RANGES_SEED", "20261201")))
        statuses = set()
        cases = 0
        for path in FILES:
            for value in range_values(rng, self.lengths[path]):
                for persona in ("apache", "nginx"):
                    self.compare(persona, path, [("Range", value)], seen=statuses)
                    cases += 1
        # Every outcome was met: ranges sent, the header ignored, and refused.
        self.assertEqual(statuses, {200, 206, 416}, cases)

    def test_if_range_head_gzip_and_repeated_headers(self):
        for persona in ("apache", "nginx"):
            for path in FILES:
                for headers in (
                        [("Range", "bytes=0-9"), ("If-Range", "{etag}")],
                        [("Range", "bytes=0-9"), ("If-Range", "W/{etag}")],
                        [("Range", "bytes=0-9,20-29"), ("If-Range", '"other"')],
                        [("Range", "bytes=0-9"), ("If-Range", "{lm}")],
                        [("Range", "bytes=0-9"), ("If-Range", "Tue, 01 Dec 2020 10:00:00 GMT")],
                        [("Range", "bytes=0-9"), ("If-Range", "garbage")],
                        [("Range", "bytes=0-9"), ("If-None-Match", "{etag}")],
                        [("Range", "bytes=0-9"), ("If-None-Match", "W/{etag}")],
                        [("Range", "bytes=0-9"), ("If-Range", "{etag}"), ("If-None-Match", "{etag}")],
                        [("Range", "bytes=0-9"), ("If-Modified-Since", "{lm}")],
                        [("Range", "bytes=0-1"), ("Range", "bytes=3-4")],
                        [("Range", "bytes=0-99"), ("Accept-Encoding", "gzip")],
                        [("Range", "bytes=0-9,20-29"), ("Accept-Encoding", "gzip")],
                        [("Range", "bytes=999999-"), ("Accept-Encoding", "gzip")],
                        [("Request-Range", "bytes=0-3")]):
                    if (any("{lm}" in v for _, v in headers) and
                            50 < time.time() - self.mtimes[path] < 70):
                        continue  # Apache's date turns strong at 60 s: not both sides of it
                    self.compare(persona, path, headers)
                many = "bytes=" + ",".join("%d-%d" % (i, i) for i in range(0, 80, 2))
                self.compare(persona, path, [("Range", many)])  # chunked by Apache
                for value in ("bytes=0-3", "bytes=0-1,4-5", "bytes=999999-", "bytes=x", many):
                    self.compare(persona, path, [("Range", value)], method="HEAD")
                    self.compare(persona, path, [("Range", value)], version="1.0")

    def test_unsatisfiable_keeps_the_connection_as_the_server_does(self):
        # Apache's 416 has no length: chunked on a connection kept open (nginx: a length).
        for persona in ("apache", "nginx"):
            answers = {}
            for who in ("drosera-" + persona, persona):
                raw = (b"GET /favicon.ico HTTP/1.1\r\nHost: localhost\r\nRange: bytes=999999-\r\n\r\n"
                       b"GET /favicon.ico HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = exchange(self.ports[who], raw)
                data = re.sub(rb"(Date|Server|ETag|Last-Modified): [^\r]*", rb"\1: *", data)
                data = re.sub(rb"Apache/2\.4\.\d+ \(Debian\)", b"Apache", data)
                data = re.sub(rb"<!DOCTYPE[^>]*>", b"<!DOCTYPE>", data)
                data = re.sub(rb"(Server at \S+) Port \d+", rb"\1 Port N", data)
                answers[who] = re.sub(rb"nginx/1\.22\.\d+", b"nginx", data)
            real = answers[persona]
            self.assertIn(b"416 Requested Range Not Satisfiable", real)
            self.assertIn(b"200 OK", real)
            if persona == "apache":
                # The chunk size line is the page's length: Apache 2.4.71's doctype is longer.
                real = re.sub(rb"\r\n[0-9a-f]+\r\n<!DOCTYPE>", b"\r\nN\r\n<!DOCTYPE>", real)
                mine = re.sub(rb"\r\n[0-9a-f]+\r\n<!DOCTYPE>", b"\r\nN\r\n<!DOCTYPE>",
                              answers["drosera-" + persona])
                self.assertIn(b"Transfer-Encoding: chunked", real)
            else:
                mine = answers["drosera-" + persona]
            self.assertEqual(mine, real, persona)


if __name__ == "__main__":
    unittest.main()
