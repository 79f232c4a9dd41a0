"""Methods, drosera against the real servers it imitates: every method a scanner sends (HTTP,
WebDAV, DeltaV, unknown and malformed ones) to files, folders with and without an index or
their slash, paths below a file, missing paths and "*", answered by drosera (persona apache and
nginx), by Apache 2.4 with Debian's modules and security.conf and by nginx 1.22 with Debian's
configuration, on loopback, serving the same files. Status, header names in order, values but
those that name the server's version or the file's time, and bodies must be the same
(src/sensor/site.cc: Site::handleApache, Site::handleNginx)."""
import re
import unittest

import real_servers
from real_servers import neutral_page, request

FILES = ["/index.html", "/about.html", "/assets/css/main.css", "/favicon.ico", "/robots.txt",
         "/images/logo.svg", "/assets/js/main.js", "/sitemap.xml"]
PATHS = ["/", "/index.html", "/assets/css/main.css", "/images/logo.svg", "/robots.txt",
         "/assets", "/assets/", "/assets/css", "/assets/css/", "/images", "/images/", "/nope",
         "/nope/", "/nope/x/y", "/assets/css/main.css/x", "/index.html/", "/index.html?a=1",
         "/assets?x=1", "/assets?", "/%61ssets", "/assets/../images", "/./index.html",
         "//assets", "*",
         # what scanners probe: Debian's Apache denies ".ht*" files, has /icons/ folders,
         # refuses an encoded slash; a last dot segment leaves the folder, a backslash is a
         # character (both servers)
         "/.htaccess", "/assets/.htaccess", "/.ht/", "/.htaccess/x", "/nope/.htaccess",
         "/index.html/.htpasswd", "/icons/", "/icons/small/", "/icons",
         "/icons/small", "/..%5c..%5cwindows", "/a%5c..%5cindex.html", "/nope.html",
         "/nope.CSS", "/nope.qqq",
         "/..%2f..%2fetc/passwd", "/assets%2fcss/main.css", "/index.html/.", "/assets/css/..",
         "/assets/.", "/images/logo.svg/..",
         # the types of Debian's mime.types (mod_mime; every extension of the name counts)
         "/assets/js/main.js", "/sitemap.xml", "/favicon.ico", "/nope.js", "/nope.xyz",
         "/nope.tar.gz", "/nope.tgz", "/nope.Z", "/nope.bz2", "/nope.exe", "/nope.shtml",
         "/nope.JPG", "/nope.html.qqq", "/nope.qqq.html", "/nope.php.bak", "/nope.deb",
         "/nope.env", "/nope.md", "/.nope", "/nope.", "/nope..html", "/a.b/nope.c",
         "/nope.c/a.b", "/assets/nope.js/x", "/nope.css/", "/.json", "/..js", "/.a.js",
         "/...", "/x.TXT.gz", "/x.gz.html",
         # a fragment: Apache refuses any '#' (400), nginx drops it
         "/index.html#x", "/nope#x", "/assets?a=1#x", "/#"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
           # WebDAV and DeltaV: Apache knows them without mod_dav (405), nginx does not (405)
           "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT",
           "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL",
           "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL", "MERGE",
           # unknown to both, or not a method to nginx
           "SEARCH", "ACL", "QUERY", "PRI", "FOO", "G_ET", "get", "Get"]
ROTATIONS = ["GET,POST,OPTIONS,HEAD", "POST,OPTIONS,HEAD,GET", "OPTIONS,HEAD,GET,POST",
             "HEAD,GET,POST,OPTIONS"]


def normalised(status, headers, body):
    """What must agree. Besides the validators and the version: Allow's order (Apache's comes
    in one of four rotations, chosen at each start), the port in Location and pages, and the
    length of Apache's pages (2.4.71's doctype is longer than the 2.4.62 drosera imitates)."""
    out = []
    doctype = re.match(rb"^<!DOCTYPE[^>]*>", body)
    for name, value in headers:
        if name in ("Date", "Server", "ETag", "Last-Modified"):
            value = "*"
        elif name == "Allow":
            value = ",".join(sorted(value.split(","))) if value else value
        elif name == "Location":
            value = re.sub(r":\d+/", ":N/", value)
        elif name == "Content-Length" and doctype:
            value = str(int(value) - len(doctype.group(0)))
        out.append((name, value))
    return status, out, re.sub(rb":\d+/", b":N/", neutral_page(body))


class MethodsAgainstRealServers(real_servers.AgainstRealServers):
    FILES = FILES
    # A folder without Options Indexes: its listing refused (403), as nginx's default.
    APACHE_DIRECTORY = "Options FollowSymLinks\n  Require all granted"

    def differences(self, persona, cases):
        """Sends each (method, target, body) to drosera and the real server; returns what
        differs, and the set of real statuses."""
        out, statuses = [], set()
        for method, target, body in cases:
            headers = [("Content-Length", str(len(body)))] if body else []
            answers = {}
            for who in ("drosera-" + persona, persona):
                answers[who] = normalised(*request(self.ports[who], target, headers, method,
                                                   body=body))
            mine, real = answers["drosera-" + persona], answers[persona]
            statuses.add(real[0])
            if mine != real:
                out.append("%s %s %s (%d bytes): drosera %s, real %s" %
                           (persona, method, target, len(body), mine, real))
        return out, statuses

    def test_every_method_on_every_kind_of_path(self):
        cases = [(m, p, b"") for m in METHODS for p in PATHS]
        # With a body: what a form or an upload sends.
        cases += [(m, p, b"a=1&b=2") for m in ("POST", "PUT", "PATCH", "FOO", "PROPFIND")
                  for p in ("/", "/index.html", "/assets", "/assets/", "/nope")]
        # CONNECT's host and port (an open-proxy probe), and the same line with other methods.
        cases += [(m, "localhost:80", b"") for m in ("CONNECT", "OPTIONS", "GET")]
        for persona in ("apache", "nginx"):
            diffs, statuses = self.differences(persona, cases)
            self.assertEqual(diffs[:5], [], "%d of %d differ" % (len(diffs), len(cases)))
            # The matrix meets every kind of answer.
            expected = {200, 301, 400, 403, 404, 405} | ({501} if persona == "apache" else set())
            self.assertEqual(statuses, expected, persona)

    def test_allow_is_one_rotation_for_the_life_of_the_server(self):
        for who in ("drosera-apache", "apache"):
            seen = set()
            for method, target in (("OPTIONS", "/"), ("PUT", "/nope"), ("FOO", "/"),
                                   ("DELETE", "/index.html"), ("OPTIONS", "/assets/")):
                seen.add(dict(request(self.ports[who], target, method=method)[1])["Allow"])
            self.assertEqual(len(seen), 1, (who, seen))
            self.assertIn(seen.pop(), ROTATIONS, who)

    def test_a_head_of_an_error_keeps_the_connection_as_the_server_does(self):
        # Apache makes no page for a HEAD, so no length either; nginx sends the page's length.
        for persona in ("apache", "nginx"):
            answers = {}
            for who in ("drosera-" + persona, persona):
                raw = b"".join(b"HEAD %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % t
                               for t in (b"/nope", b"/assets", b"/assets/", b"/index.html"))
                raw += b"GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                data = real_servers.exchange(self.ports[who], raw)
                data = re.sub(rb"(Date|Server|ETag|Last-Modified): [^\r]*", rb"\1: *", data)
                data = re.sub(rb"(Location: http://localhost):\d+", rb"\1:N", data)
                answers[who] = data
            real, mine = answers[persona], answers["drosera-" + persona]
            self.assertEqual(real.count(b"HTTP/1.1 "), 5, persona)
            if persona == "apache":  # a 404 page's length would differ by the doctype
                self.assertNotIn(b"Content-Length", real.split(b"\r\n\r\n")[0])
            self.assertEqual(mine, real, persona)


if __name__ == "__main__":
    unittest.main()
