"""How long a slow client is waited for, drosera against the real servers it imitates: Apache 2.4
with Debian's mod_reqtimeout (header=20-40,MinRate=500 body=10,MinRate=500) and AcceptFilter,
nginx 1.22 (client_header_timeout and client_body_timeout 60s), each exchange timed on loopback
up to a minute, all at once (src/http/timeouts.h). What came and when the connection closed
must be the same, to half a second."""
import concurrent.futures
import socket
import threading
import time
import unittest

import real_servers

WAIT = 63  # seconds each exchange is watched: nginx's 60 s and a little
TOLERANCE = 0.5


def trickle(chunk, every, count, first=None):
    """Sends `chunk` every `every` seconds (the first after `first`), `count` times (stops when
    the server closed)."""
    def send(s):
        for i in range(count):
            time.sleep(first if i == 0 and first is not None else every)
            try:
                s.sendall(chunk)
            except OSError:
                return
    return send


POST = b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
CASES = {
    # Nothing at all: Apache's AcceptFilter holds it in the kernel ~31 s, then 20 s.
    "idle": (b"", None),
    # Not a whole request line: Apache closes without a word, as nginx does.
    "blank line": (b"\r\n", None),
    "partial request line": (b"GET / HT", None),
    # A head: Apache's 408 after 20 s, 40 s at most while 500 bytes a second come, and a second
    # at least after a line that came in time; nginx's 60 s for the whole head, no answer.
    "partial head": (b"GET / HTTP/1.1\r\nHost: a\r\n", None),
    # (the fifth line at 19.8 s: Apache's second at least makes it 20.8 s, not 20.1)
    "head line every 4 s": (b"GET / HTTP/1.1\r\n", trickle(b"X-A: b\r\n", 4, 14, first=3.8)),
    # (nginx's header buffers hold 37 of these lines: its 400 at 57 s. Apache's last second
    # starts with the line at 39 s, the next comes at 40.5: one coming as a wait ends would be
    # a race, either side.)
    "head at 600 B/s": (b"GET / HTTP/1.1\r\n", trickle(b"X-A: " + b"b" * 892 + b"\r\n", 1.5, 41)),
    # A body: Apache's 10 s, a second more per 500 bytes; nginx answers a file at once and
    # waits 5 s for the body (test_protocol); a body it hands on (a form target of the site),
    # 60 s between two reads, then no answer.
    "body of a file": (POST % (b"/index.html", 100) + b"0123456789", None),
    # (nothing in flight when either times out: Apache's 10.4 s, nginx's close 30 s after its
    # answer, which a reset would lose)
    "body 100 B every 4.5 s": (POST % (b"/index.html", 100000), trickle(b"b" * 100, 4.5, 13)),
    # (body bytes that came with the head count: Apache's 20 s)
    "body with the head": (POST % (b"/index.html", 100000) + b"b" * 5000, None),
    "body of a form": (POST % (b"/login.php", 100) + b"0123456789", None),
    "form body byte at 30 s": (POST % (b"/login.php", 100) + b"0", trickle(b"1", 30, 1)),
}


def watch(port, first, then):
    """What came on a connection (status lines and bytes) and when it closed, in seconds."""
    events = []
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(WAIT)
        started = time.monotonic()
        if first:
            s.sendall(first)
        if then:
            threading.Thread(target=then, args=(s,), daemon=True).start()
        try:
            while True:
                chunk = s.recv(65536)
                at = time.monotonic() - started
                if not chunk:
                    events.append(("close", at))
                    break
                line = chunk.split(b"\r\n")[0]
                events.append((line.decode() if line.startswith(b"HTTP/") else "bytes", at))
        except socket.timeout:
            events.append(("open", WAIT))
        except OSError as e:  # a reset
            events.append((type(e).__name__, time.monotonic() - started))
    return events


class SlowClients(real_servers.AgainstRealServers):
    FILES = ["/index.html"]
    # nginx hands a form's body on (to PHP behind drosera's nginx persona): proxied here, the
    # body is read whole first (proxy_request_buffering on), as for fastcgi.
    NGINX_LOCATIONS = "location = /login.php { proxy_pass http://127.0.0.1:9; }"

    def test_each_persona_times_out_as_its_server(self):
        pairs = [("apache", "drosera-apache"), ("nginx", "drosera-nginx")]
        with concurrent.futures.ThreadPoolExecutor(len(CASES) * 4) as pool:
            runs = {(case, name): pool.submit(watch, self.ports[name], first, then)
                    for case, (first, then) in CASES.items()
                    for pair in pairs for name in pair}
            seen = {key: run.result() for key, run in runs.items()}
        for case in CASES:
            for real, mine in pairs:
                want, got = seen[(case, real)], seen[(case, mine)]
                with self.subTest(case=case, persona=real):
                    self.assertEqual([what for what, _ in got], [what for what, _ in want],
                                     (want, got))
                    for (_, at_want), (_, at_got) in zip(want, got):
                        self.assertLess(abs(at_want - at_got), TOLERANCE, (want, got))
        # What the silent closes ended is recorded, with the limit that ended it, no answer.
        uri = lambda e: e["transaction"]["request"]["uri"]
        status = lambda e: e["transaction"]["response"]["http_code"]
        forms = self.d.wait_events(lambda e: uri(e) == "/login.php", count=4)
        self.assertEqual(sorted((status(e), e["transaction"]["request"]["body"],
                                 e["drosera"]["limits_hit"], "incomplete_request" in
                                 e["drosera"]["anomalies"]) for e in forms),
                         [(0, "01", [], True),  # nginx's: this test went away first
                          (0, "0123456789", ["body_timeout"], False),
                          (408, "0", ["body_timeout"], False),
                          (408, "0123456789", ["body_timeout"], False)])
        heads = self.d.wait_events(lambda e: "header_timeout" in e["drosera"]["limits_hit"],
                                   count=9)
        # Apache's for a blank line and a partial request line, nginx's 4 (its buffers ended the
        # fifth, at 600 B/s: a 400 after 57 s): no answer.
        self.assertEqual(sorted(status(e) for e in heads), [0] * 6 + [408] * 3, heads)

if __name__ == "__main__":
    unittest.main()
