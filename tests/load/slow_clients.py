#!/usr/bin/env python3
"""Slow clients against a drosera listener (python3 standard library only).

Kinds of client, all held open at the same time:
  slow_headers   slowloris: a request head that never ends (one header line every `drip_s`);
                 the server must answer 408 after limits.header_timeout_s and record it
  slow_bodies    a complete head announcing a body that trickles in a few bytes every `drip_s`;
                 408 after limits.body_timeout_s, recorded
  partial_heads  half a request head, then the client hangs up: recorded as incomplete_request,
                 no answer possible
  partial_bodies a head and part of the announced body, then the client hangs up: the same
  idle           connects and sends nothing (plain and TLS): closed after the header timeout,
                 nothing to record
  non_readers    pipelines requests for a large page and never reads: the server's write
                 deadline (body_timeout_s) must cut it off
  pipeliners     pipeline more requests on one connection than limits.max_keepalive_requests
                 allows, in one write, and read everything: the server answers up to the limit
                 and closes (as the port's persona counts it: Apache answers max + 1, nginx and
                 IIS max)
Every request sent is evidence: the sensor must record each one (`expected_captures`), answered
or not (pipelined requests behind a close, a cut request).
While they are all held, `probes` ordinary requests on fresh connections must each be answered
(200) within `probe_deadline_s`: the honeypot keeps answering under a slow-client attack.

Usage as a script: slow_clients.py PORT [--tls-port P] [--counts ...] prints a JSON summary.
"""
import argparse
import json
import selectors
import socket
import threading
import time

HEAD = "Host: 127.0.0.1\r\nUser-Agent: drosera-load-slow/1.0\r\nAccept: */*\r\n"


class Conn:
    def __init__(self, kind, index, sock):
        self.kind = kind
        self.index = index
        self.sock = sock
        self.opened = time.monotonic()
        self.closed_at = None
        self.data = b""
        self.next_drip = self.opened
        self.drips = 0
        self.hangup_at = None

    def status(self):
        if self.data.startswith(b"HTTP/"):
            try:
                return int(self.data.split(b" ", 2)[1])
            except (IndexError, ValueError):
                return None
        return None


def _connect(port, source_ip=None, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source_ip:
        s.bind((source_ip, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def _send(c, data):
    try:
        c.sock.send(data)
        return True
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False


def count_responses(data):
    """Complete HTTP responses (with Content-Length) at the start of `data`."""
    n = 0
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip() or 0)
        if len(rest) < length:
            break
        n += 1
        data = rest[length:]
    return n


def probe(port, deadline_s, index):
    """One ordinary request on a fresh connection; returns (status, seconds)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=deadline_s)
        s.sendall(("GET /index.html?probe=%d HTTP/1.1\r\n%sConnection: close\r\n\r\n"
                   % (index, HEAD)).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - t0


def run(port, tls_port=None, slow_headers=100, slow_bodies=50, partial_heads=20,
        partial_bodies=20, idle=20, non_readers=10, pipeliners=5, probes=20, drip_s=1.0,
        max_keepalive_requests=100, persona="apache",
        header_timeout_s=20.0, body_timeout_s=30.0, probe_deadline_s=2.0, slack_s=10.0,
        source_ip=None, log=print):
    """Runs every kind of slow client at once; returns a summary dict (see module doc).
    `persona`: that of `port` (server.persona, apache by default)."""
    sel = selectors.DefaultSelector()
    conns = []
    failures = []

    def add(kind, n, first_bytes, port_=port, rcvbuf=None):
        for i in range(n):
            try:
                s = _connect(port_, source_ip, rcvbuf)
            except OSError as e:
                failures.append("%s #%d: connect failed: %s" % (kind, i, e))
                continue
            c = Conn(kind, i, s)
            if first_bytes:
                try:
                    s.sendall(first_bytes(i))
                except OSError as e:
                    failures.append("%s #%d: send failed: %s" % (kind, i, e))
            s.setblocking(False)
            conns.append(c)
            sel.register(s, selectors.EVENT_READ, c)

    t_start = time.monotonic()
    add("slow_headers", slow_headers,
        lambda i: ("GET /slowloris?i=%d HTTP/1.1\r\n%s" % (i, HEAD)).encode())
    add("slow_bodies", slow_bodies,
        lambda i: ("POST /login.php?i=%d HTTP/1.1\r\n%sContent-Type: application/x-www-form-"
                   "urlencoded\r\nContent-Length: 100000\r\n\r\nusername=" % (i, HEAD)).encode())
    add("partial_heads", partial_heads,
        lambda i: ("GET /partial-head?i=%d HTTP/1.1\r\n%sX-Cut-He" % (i, HEAD)).encode())
    add("partial_bodies", partial_bodies,
        lambda i: ("POST /contact.php?i=%d HTTP/1.1\r\n%sContent-Type: application/x-www-form-"
                   "urlencoded\r\nContent-Length: 5000\r\n\r\nname=cut&message=" % (i, HEAD)).encode())
    add("idle", idle, None)
    if tls_port:
        add("idle_tls", idle, None, port_=tls_port)
    over = max_keepalive_requests + 50
    add("pipeliners", pipeliners,
        lambda i: b"".join(("GET /news.html?pl=%d&k=%d HTTP/1.1\r\n%s\r\n" % (i, k, HEAD)).encode()
                           for k in range(over)))
    pipelined = 200
    readers_from = len(conns)
    add("non_readers", non_readers,
        lambda i: b"".join(("GET /phpinfo.php?nr=%d&k=%d HTTP/1.1\r\n%s\r\n" % (i, k, HEAD)).encode()
                           for k in range(pipelined)),
        rcvbuf=4096)
    non_reading = conns[readers_from:]
    for c in non_reading:
        sel.unregister(c.sock)  # never read until the server's write deadline has passed
    conns = conns[:readers_from]
    # Hang-ups happen once every connection is open, so all kinds overlap.
    for c in conns:
        if c.kind in ("partial_heads", "partial_bodies"):
            c.hangup_at = time.monotonic() + 1.0
    log("slow clients: %d connections open in %.1fs" % (len(conns), time.monotonic() - t_start))

    # Ordinary requests from another thread while the slow clients are held.
    probe_results = []
    probe_every = max(0.02, (min(header_timeout_s, body_timeout_s) - 1.5) / max(1, probes))

    def prober():
        time.sleep(0.3)
        for i in range(probes):
            t = time.monotonic()
            probe_results.append(probe(port, probe_deadline_s, i))
            time.sleep(max(0.0, probe_every - (time.monotonic() - t)))

    probe_thread = threading.Thread(target=prober, daemon=True)
    probe_thread.start()
    deadline = time.monotonic() + max(header_timeout_s, body_timeout_s) + slack_s
    open_count = len(conns)
    while open_count and time.monotonic() < deadline:
        now = time.monotonic()
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            try:
                b = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                b = b""
            if b:
                c.data += b
                continue
            c.closed_at = now
            sel.unregister(c.sock)
            c.sock.close()
            open_count -= 1
        for c in conns:
            if c.closed_at is not None:
                continue
            if c.hangup_at is not None and now >= c.hangup_at:
                c.closed_at = now
                sel.unregister(c.sock)
                c.sock.close()
                open_count -= 1
                continue
            if now >= c.next_drip:
                c.next_drip = now + drip_s
                if c.kind == "slow_headers":
                    _send(c, b"X-Drip-%d: %d\r\n" % (c.drips, c.drips))
                elif c.kind == "slow_bodies":
                    _send(c, b"a%d" % c.drips)
                c.drips += 1
    probe_thread.join()
    for c in conns:
        if c.closed_at is None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
    # Non-readers: once the write deadline (and the server's 2 s lingering close) has passed,
    # read what the kernel still holds. A server that cut us off ends the stream before the
    # last of the pipelined answers; one that did not would let us read all of them.
    wait_until = t_start + body_timeout_s + 4.0
    while time.monotonic() < wait_until:
        time.sleep(0.1)
    for c in non_reading:
        c.sock.setblocking(True)
        c.sock.settimeout(5.0)
        try:
            while True:
                b = c.sock.recv(1 << 20)
                if not b:
                    c.closed_at = time.monotonic()
                    break
                c.data += b
                if len(c.data) > 64 << 20:
                    break
        except socket.timeout:
            pass
        except OSError:
            c.closed_at = time.monotonic()
        c.sock.close()
        c.complete = count_responses(c.data)
    conns += non_reading

    summary = {"connections": len(conns), "connect_failures": failures, "kinds": {}}
    expect_close = {
        "slow_headers": header_timeout_s, "slow_bodies": body_timeout_s,
        "idle": header_timeout_s, "idle_tls": header_timeout_s, "non_readers": body_timeout_s,
    }
    problems = list(failures)
    for kind in ("slow_headers", "slow_bodies", "partial_heads", "partial_bodies", "idle",
                 "idle_tls", "pipeliners", "non_readers"):
        mine = [c for c in conns if c.kind == kind]
        if not mine:
            continue
        statuses = {}
        for c in mine:
            st = c.status()
            statuses[str(st)] = statuses.get(str(st), 0) + 1
        still_open = sum(1 for c in mine if c.closed_at is None)
        took = [c.closed_at - c.opened for c in mine if c.closed_at is not None]
        summary["kinds"][kind] = {
            "n": len(mine), "statuses": statuses, "left_open_by_server": still_open,
            "closed_after_s_max": round(max(took), 2) if took else None,
        }
        if kind == "pipeliners":
            got = [count_responses(c.data) for c in mine]
            summary["kinds"][kind]["answers_received"] = sum(got)
            # Apache (MaxKeepAliveRequests) keeps a connection alive max times: max + 1
            # answers; nginx (keepalive_requests) closes on the max-th.
            answers = max_keepalive_requests + (1 if persona == "apache" else 0)
            if any(g != answers for g in got):
                problems.append("pipeliners: %d requests each, expected %d answers then a close "
                                "(%s); got %s" % (over, answers, persona, got))
        if kind == "non_readers":
            summary["kinds"][kind]["answers_received"] = sum(c.complete for c in mine)
            uncut = [c for c in mine if c.complete >= pipelined]
            if uncut:
                problems.append("%d non-reading clients were never cut off (got all %d answers)"
                                % (len(uncut), pipelined))
        if kind in expect_close and still_open:
            problems.append("%d of %d %s connections still open %.0fs after the %.0fs timeout"
                            % (still_open, len(mine), kind, slack_s, expect_close[kind]))
        if kind in ("slow_headers", "slow_bodies"):
            bad = {k: v for k, v in statuses.items() if k != "408"}
            if bad:
                problems.append("%s: expected 408 on each of %d, got %s" % (kind, len(mine), statuses))
        if kind in ("idle", "idle_tls"):
            answered = {k: v for k, v in statuses.items() if k != "None"}
            if answered:
                problems.append("%s: idle connections got answers %s" % (kind, answered))
    ok_probes = [t for st, t in probe_results if st == 200 and t <= probe_deadline_s]
    summary["probes"] = {
        "n": len(probe_results), "ok": len(ok_probes),
        "max_s": round(max((t for _, t in probe_results), default=0.0), 3),
        "statuses": sorted(set(st for st, _ in probe_results)),
    }
    if len(ok_probes) != len(probe_results) or len(probe_results) < probes:
        problems.append("ordinary requests during the slow-client attack: %d of %d answered 200 "
                        "within %.1fs (slowest %.2fs, statuses %s)"
                        % (len(ok_probes), probes, probe_deadline_s, summary["probes"]["max_s"],
                           summary["probes"]["statuses"]))
    # What the sensor must have recorded: every request it answered or saw cut.
    summary["expected_timeouts"] = slow_headers + slow_bodies
    summary["expected_incomplete"] = partial_heads + partial_bodies
    # The server counts an answer when it starts writing it: each non-reader may have one
    # more counted than it received in full.
    received = sum(c.complete for c in non_reading)
    piped = sum(count_responses(c.data) for c in conns if c.kind == "pipeliners")
    summary["expected_requests_min"] = (slow_headers + slow_bodies + len(probe_results) + received
                                        + piped)
    summary["expected_requests_max"] = summary["expected_requests_min"] + len(non_reading)
    # every request sent, answered or not
    summary["expected_captures"] = (slow_headers + slow_bodies + len(probe_results) + partial_heads
                                    + partial_bodies + pipeliners * over + non_readers * pipelined)
    summary["probe_requests"] = len(probe_results)
    summary["elapsed_s"] = round(time.monotonic() - t_start, 1)
    summary["problems"] = problems
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("port", type=int)
    ap.add_argument("--tls-port", type=int)
    for k, d in (("slow-headers", 100), ("slow-bodies", 50), ("partial-heads", 20),
                 ("partial-bodies", 20), ("idle", 20), ("non-readers", 10), ("pipeliners", 5),
                 ("probes", 20)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--header-timeout", type=float, default=20.0)
    ap.add_argument("--body-timeout", type=float, default=30.0)
    ap.add_argument("--max-keepalive-requests", type=int, default=100)
    ap.add_argument("--persona", default="apache", help="the persona of PORT")
    a = ap.parse_args()
    s = run(a.port, a.tls_port, a.slow_headers, a.slow_bodies, a.partial_heads, a.partial_bodies,
            a.idle, a.non_readers, a.pipeliners, a.probes, header_timeout_s=a.header_timeout,
            body_timeout_s=a.body_timeout, max_keepalive_requests=a.max_keepalive_requests,
            persona=a.persona)
    print(json.dumps(s, indent=2))
    return 1 if s["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
