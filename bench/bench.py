#!/usr/bin/env python3
"""drosera sensor vs nginx + ModSecurity-nginx, same machine, same rules, same load generator.

Pinning (2-core machine): each server runs on CPU 1 (`taskset -c 1`, all its threads),
wrk runs on CPU 0. Loopback only. Prints absolute figures and ratios drosera/nginx.

  bench/bench.py --drosera build/release/drosera [--duration 10] [--long 60]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVER_CPU = "1"
CLIENT_CPU = "0"
HEADERS = ["Host: www.example.com",
           "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
           "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "Accept-Language: en-US,en;q=0.5"]
WORKLOADS = {
    "benign": "/index.html",
    "attack": "/index.html?id=1%27%20OR%201=1--%20&q=%3Cscript%3Ealert(1)%3C/script%3E",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def wrk(port, path, duration, connections):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c%d" % connections, "-d%ds" % duration,
           "--latency", "--timeout", "10s"]
    for h in HEADERS:
        cmd += ["-H", h]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def lat(label):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": lat("50%"), "p99_ms": lat("99%"), "requests": total,
            "socket_errors": errors.group(1) if errors else "", "non2xx": int(non2xx.group(1)) if non2xx else 0}


def rss_kb(pid, field="VmHWM"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    except OSError:
        return []


class Nginx:
    def __init__(self, work, rules, drosera_site):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = free_port()
        with open(os.path.join(self.dir, "msc.conf"), "w") as f:
            f.write(open(rules).read())
            # nginx writes its audit record inline, for what matched (as its Debian default does)
            f.write("\nSecAuditEngine RelevantOnly\nSecAuditLogRelevantStatus \"^(?:5|4(?!04))\"\n"
                    "SecAuditLogFormat JSON\nSecAuditLogType Serial\nSecAuditLogParts ABCFHZ\n"
                    "SecAuditLog %s/audit.log\n" % self.dir)
        user = "user root root;" if os.getuid() == 0 else ""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path %s/tmp;
  types { text/html html; }
  modsecurity on;
  modsecurity_rules_file %s/msc.conf;
  server { listen 127.0.0.1:%d; root %s; }
}
""" % (user, self.dir, self.dir, self.dir, self.dir, self.port, drosera_site))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, "nginx", "-c",
                                      os.path.join(self.dir, "nginx.conf"), "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        time.sleep(0.5)

    def worker(self):
        kids = children(self.proc.pid)
        return kids[0] if kids else self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(timeout=30)


class Drosera:
    def __init__(self, work, binary, name="drosera"):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.binary = binary
        self.config = os.path.join(self.dir, "drosera.toml")
        with open(self.config, "w") as f:
            f.write("""[sensor]
status_interval_s = 0.25
[server]
bind = ["127.0.0.1"]
[[server.listener]]
port = %d
kind = "real"
[limits]
max_keepalive_requests = 1000000
max_connections_per_ip = 100000
""" % self.port)
        self.data = os.path.join(self.dir, "data")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, self.binary, "sensor", "--config",
                                      self.config, "--data-dir", self.data],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        wait_port(self.port)
        time.sleep(0.5)

    def status(self):
        for _ in range(50):
            try:
                with open(os.path.join(self.data, "status.json")) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.02)
        return {}

    def wait_drained(self, limit_s):
        """Waits until the backlog is empty (or limit_s); returns inspected/s while draining."""
        t0, s0 = time.time(), self.status()["inspection"]["inspected"]
        t1, s1 = t0, s0
        while time.time() - t0 < limit_s:
            time.sleep(0.5)
            st = self.status()["inspection"]
            t1, s1 = time.time(), st["inspected"]
            if st["backlog"] == 0:
                break
        return (s1 - s0) / max(t1 - t0, 1e-6), s1, self.status()["inspection"]["backlog"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def fmt(v, unit=""):
    return ("%.2f" % v if isinstance(v, float) else str(v)) + unit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drosera", required=True)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64, help="concurrent connections (the burst)")
    ap.add_argument("--long", type=int, default=60, help="seconds of the RSS burst (0: skip)")
    ap.add_argument("--drain", type=int, default=12, help="seconds to measure inspection after a burst")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds per server; medians are reported (the host is noisy)")
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "taskset"):
        if not shutil.which(tool):
            sys.exit("missing %s (scripts/install-deps.sh bench)" % tool)
    work = tempfile.mkdtemp(prefix="drosera-bench-")
    binary = os.path.abspath(args.drosera)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print("drosera benchmark: %s, %d cores; servers pinned to CPU %s, wrk to CPU %s; "
          "%d connections, %ds per run" % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
                                           SERVER_CPU, CLIENT_CPU, args.connections, args.duration))
    d = Drosera(work, binary)
    rules = os.path.join(work, "rules.conf")
    with open(rules, "w") as f:
        subprocess.run([binary, "rules", "show", "--config", d.config, "--data-dir", d.data],
                       stdout=f, check=True)
    import statistics
    runs = {}
    n = Nginx(work, rules, os.path.join(root, "site"))
    for rnd in range(args.rounds):
        # nginx + ModSecurity-nginx inspects inline, so answered == inspected.
        n.start()
        for w, path in WORKLOADS.items():
            r = wrk(n.port, path, args.duration, args.connections)
            r["inspected_rps"] = r["rps"]
            r["rss_kb"] = rss_kb(n.worker())
            runs.setdefault(("nginx", w), []).append(r)
        n.stop()
        # drosera answers first and inspects after: inspection is measured while the burst's
        # backlog drains.
        for w, path in WORKLOADS.items():
            d = Drosera(work, binary, "drosera-%s-%d" % (w, rnd))
            d.start()
            r = wrk(d.port, path, args.duration, args.connections)
            rate, inspected, left = d.wait_drained(args.drain)
            r["inspected_rps"] = rate
            r["rss_kb"] = rss_kb(d.proc.pid)
            runs.setdefault(("drosera", w), []).append(r)
            d.stop()
            shutil.rmtree(d.dir, ignore_errors=True)
        print("  round %d of %d done" % (rnd + 1, args.rounds), flush=True)
    results = {}
    for key, rs in runs.items():
        results[key] = {k: statistics.median(r[k] for r in rs)
                        for k in ("rps", "p50_ms", "p99_ms", "inspected_rps", "rss_kb")}
        results[key]["rss_kb"] = max(r["rss_kb"] for r in rs)

    print("\nmedians of %d rounds" % args.rounds)
    print("%-8s %-7s %12s %10s %10s %14s %10s" % ("server", "load", "answered/s", "p50 ms", "p99 ms",
                                                    "inspected/s", "peak RSS"))
    for (srv, w), r in results.items():
        print("%-8s %-7s %12.0f %10.2f %10.2f %14.0f %8.1f MB" % (srv, w, r["rps"], r["p50_ms"], r["p99_ms"],
                                                                 r["inspected_rps"], r["rss_kb"] / 1024))
    print("\nratios drosera / nginx+ModSecurity (goal):")
    ok = True
    for w in WORKLOADS:
        dr, ng = results[("drosera", w)], results[("nginx", w)]
        a = dr["rps"] / ng["rps"]
        p = dr["p99_ms"] / ng["p99_ms"]
        i = dr["inspected_rps"] / ng["inspected_rps"]
        checks = [("answered/s", a, ">= 10", a >= 10), ("p99", p, "<= 0.10", p <= 0.10),
                  ("inspected/s", i, ">= 1.0", i >= 1.0)]
        for name, v, goal, good in checks:
            ok &= good
            print("  %-7s %-12s %8.2f  (goal %s)  %s" % (w, name, v, goal, "met" if good else "MISSED"))

    if args.long:
        d = Drosera(work, binary, "drosera-long")
        d.start()
        samples = []
        proc = subprocess.Popen(["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c%d" % args.connections,
                                 "-d%ds" % args.long, "--timeout", "10s"] + sum([["-H", h] for h in HEADERS], []) +
                                ["http://127.0.0.1:%d%s" % (d.port, WORKLOADS["attack"])],
                                stdout=subprocess.PIPE, text=True)
        t0 = time.time()
        while proc.poll() is None:
            samples.append((time.time() - t0, rss_kb(d.proc.pid, "VmRSS"), d.status()["inspection"]["backlog"]))
            time.sleep(1)
        out = proc.stdout.read()
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        st = d.status()
        d.stop()
        half = len(samples) // 2
        first = max(s[1] for s in samples[:half]) if half else 0
        last = max(s[1] for s in samples[half:]) if samples else 0
        peak_backlog = max(s[2] for s in samples) if samples else 0
        print("\n%ds burst on drosera: %.0f answered/s, backlog peak %d, uninspected %d" %
              (args.long, rps, peak_backlog, st["inspection"]["uninspected"]))
        print("  RSS max first half %.1f MB, second half %.1f MB, peak %.1f MB -> %s" %
              (first / 1024, last / 1024, max(first, last) / 1024,
               "bounded" if last <= first * 1.25 + 16 * 1024 else "GROWING"))
        ok &= last <= first * 1.25 + 16 * 1024
    shutil.rmtree(work, ignore_errors=True)
    print("\nall goals met" if ok else "\nsome goals missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
