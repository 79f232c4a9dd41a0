#!/usr/bin/env python3
"""drosera load suite: real attack tools against a running `drosera run` over loopback.

One `drosera run` (sensor + collector, SQLite store) is started with a temporary data folder and
kernel-chosen ports on 127.0.0.1. The tools run one after another (ffuf, gobuster, dirb, sqlmap,
wapiti, nmap http scripts, siege -c 255, slow clients); after each the suite waits until the
inspection backlog has drained and checks that
  * every request the sensor accepted is in the event log: the status counters (captures,
    events written) match the number of event lines, phase by phase;
  * the sensor's request counter matches what the tool reports about its own traffic, where it
    reports it (ffuf responses, gobuster -v lines + its 2 probes, dirb DOWNLOADED + its probes,
    sqlmap's traffic log, siege transactions, the slow-client script's own count);
and at the end that
  * every event line is valid JSON with a unique transaction id, none uninspected, none lost;
  * the collector's store holds every event (the sensor shipped all of them);
  * RSS stayed under the bound derived from the configuration (see rss_bound());
  * the process is alive, answers, and stops cleanly on SIGTERM.
A table of the numbers is printed. Exit status 0 only if every check passed.

  tests/load/loadtest.py --short            a few seconds of each tool (make test, < 2.5 min)
  tests/load/loadtest.py --full             minutes: large wordlists, deeper scans (make loadtest)

Run as root, the suite moves itself into a private network namespace whose only interface is
loopback, so no tool can reach anything but 127.0.0.1 (--no-netns to skip).
"""
import argparse
import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402  (starts drosera, reads its status and API)
import tools  # noqa: E402

MiB = 1024 * 1024


# ---- child processes die with the suite --------------------------------------------------------
def die_with_parent(sig=signal.SIGKILL):
    """preexec_fn: the child gets `sig` when the suite's process ends, however it ends (a CTest
    timeout kills with SIGKILL), so no drosera or tool outlives the suite."""
    def set_pdeathsig():
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    return set_pdeathsig


def _popen_dying_with_parent(*a, **kw):
    kw.setdefault("preexec_fn", die_with_parent(signal.SIGKILL))
    return subprocess.Popen(*a, **kw)


# harness.py starts drosera with subprocess.Popen: give it a Popen that sets the death signal
harness.subprocess = types.SimpleNamespace(Popen=_popen_dying_with_parent)
tools.PREEXEC = die_with_parent(signal.SIGKILL)


def terminate_on_sigterm():
    """SIGTERM (and SIGINT) end the suite through its cleanup: drosera is stopped."""
    def handler(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# ---- network namespace -------------------------------------------------------------------------
def bring_up_loopback():
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
    finally:
        s.close()


def reexec_in_netns():
    """Runs this script again in a new network namespace (loopback only). Returns its exit
    status, or None if no namespace can be made here."""
    if os.environ.get("DROSERA_LOAD_NETNS") or os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    if subprocess.run(["unshare", "--net", "true"], stderr=subprocess.DEVNULL).returncode != 0:
        return None
    env = dict(os.environ, DROSERA_LOAD_NETNS="1")
    p = subprocess.Popen(["unshare", "--net", "--", sys.executable, os.path.abspath(__file__)]
                         + sys.argv[1:], env=env, preexec_fn=die_with_parent(signal.SIGTERM))
    try:
        return p.wait()
    except KeyboardInterrupt:
        p.send_signal(signal.SIGTERM)
        return p.wait()


# ---- watching the process ----------------------------------------------------------------------
def proc_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Monitor(threading.Thread):
    """Samples VmRSS (every 0.1 s) and the sensor's status file (backlog) for each phase."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.pid = d.proc.pid
        self.lock = threading.Lock()
        self.stop_flag = False
        self.phase = None
        self.peaks = {}  # phase -> {"rss": KiB, "backlog": n}
        self.samples = []  # (t, rss KiB, backlog, phase) for the record
        self.t0 = time.monotonic()

    def begin(self, phase):
        with self.lock:
            self.phase = phase
            self.peaks[phase] = {"rss": 0, "backlog": 0}

    def end(self):
        with self.lock:
            self.phase = None

    def run(self):
        last_status = 0.0
        backlog = 0
        while not self.stop_flag:
            rss = proc_kib(self.pid, "VmRSS")
            now = time.monotonic()
            if now - last_status >= 0.2:
                last_status = now
                try:
                    backlog = self.d.status()["inspection"]["backlog"]
                except (OSError, ValueError, KeyError):
                    pass
            with self.lock:
                if rss is not None:
                    self.samples.append((round(now - self.t0, 2), rss, backlog, self.phase))
                    for key in (self.phase, "*"):
                        if key is None:
                            continue
                        p = self.peaks.setdefault(key, {"rss": 0, "backlog": 0})
                        p["rss"] = max(p["rss"], rss)
                        p["backlog"] = max(p["backlog"], backlog)
            time.sleep(0.1)


# ---- the event log -----------------------------------------------------------------------------
def event_files(d):
    folder = os.path.join(d.data_dir, "events")
    rotated = sorted((f for f in os.listdir(folder) if f.startswith("event.log.")),
                     key=lambda f: int(f.rsplit(".", 1)[1]))
    return [os.path.join(folder, f) for f in rotated + ["event.log"]
            if os.path.exists(os.path.join(folder, f))]


def count_lines(d):
    n = 0
    for p in event_files(d):
        with open(p, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    break
                n += b.count(b"\n")
    return n


def check_all_events(d):
    """Parses every line; returns (lines, unique ids, problems, states)."""
    ids = set()
    lines = 0
    problems = []
    states = {}
    for p in event_files(d):
        with open(p, "rb") as f:
            for no, line in enumerate(f, 1):
                lines += 1
                try:
                    e = json.loads(line)
                except ValueError as ex:
                    if len(problems) < 5:
                        problems.append("%s line %d is not valid JSON (%s): %r"
                                        % (os.path.basename(p), no, ex, line[:200]))
                    continue
                uid = e["transaction"]["unique_id"]
                if uid in ids and len(problems) < 5:
                    problems.append("transaction id %s appears twice in the event log" % uid)
                ids.add(uid)
                st = e["drosera"]["inspection"]["state"]
                states[st] = states.get(st, 0) + 1
    return lines, len(ids), problems, states


# ---- the suite ---------------------------------------------------------------------------------
class Suite:
    def __init__(self, args):
        self.args = args
        self.full = args.full
        self.header_timeout_s = 20.0 if self.full else 4.0
        self.body_timeout_s = 30.0 if self.full else 4.0
        self.queue_max_bytes = 64 * MiB
        self.max_attackers = 5000
        self.failures = []
        self.rows = []
        self.notes = []
        self.work = tempfile.mkdtemp(prefix="drosera-load-")
        self.logf = open(os.path.join(self.work, "suite.log"), "w")

    def log(self, msg):
        line = "[%7.1fs] %s" % (time.monotonic() - self.t_start, msg)
        print(line, flush=True)
        self.logf.write(line + "\n")
        self.logf.flush()

    def fail(self, msg):
        self.failures.append(msg)
        self.log("FAIL: " + msg)

    def config(self):
        return """[general]
log_level = "info"
[sensor]
status_interval_s = 0.5
[server]
bind = ["127.0.0.1"]
[limits]
# every tool connects from 127.0.0.1: the per-address cap would answer most of siege's 255
# clients with 503 (recorded, but not the load this suite means to measure)
max_connections_per_ip = 4096
max_keepalive_requests = {mk}
header_timeout_s = {ht}
body_timeout_s = {bt}
[inspection]
queue_max_items = 10000
queue_max_bytes = {qb}
[event_log]
keep_files = 1000
[traps]
# the attacker state is bounded by this; below the ~9000 addresses and visitors of the full
# run, so that its eviction runs under load
max_attackers = {ma}
[collector]
listen = "127.0.0.1:0"
[[server.listener]]
port = {real}
kind = "real"
[[server.listener]]
port = {fake}
kind = "fake"
[[server.listener]]
port = {tls}
kind = "real"
tls = true
""".format(ht=self.header_timeout_s, bt=self.body_timeout_s, qb=self.queue_max_bytes,
           ma=self.max_attackers, mk=tools.MAX_KEEPALIVE_REQUESTS,
           # in the private namespace the default ports are free; elsewhere the kernel chooses
           **(dict(real=8080, fake=8000, tls=8443) if os.environ.get("DROSERA_LOAD_NETNS")
              else dict(real=0, fake=0, tls=0)))

    SQLITE_CACHE = 64 * MiB  # PRAGMA cache_size of the store's writer (src/store/sqlite_db.cc)
    ALLOWANCE = 128 * MiB

    def rss_bound_kib(self):
        """RSS may grow past what the idle process holds by what the configuration lets it
        hold: the in-memory capture queue (inspection.queue_max_bytes, counted twice for the
        parsed copy of each capture), the store's SQLite page cache, and a fixed allowance for
        connection buffers, the engine's transactions, the attacker state (traps.max_attackers),
        the shipper's batches and the allocator."""
        if self.args.rss_bound_mib:
            return self.args.rss_bound_mib * 1024
        return self.rss_idle_kib + (2 * self.queue_max_bytes + self.SQLITE_CACHE
                                    + self.ALLOWANCE) // 1024

    def status(self):
        return self.d.status()

    def settle(self, since, timeout):
        """Waits until every accepted request is written as an event and no connection is left;
        returns (seconds from `since` until the backlog drained, status)."""
        deadline = time.monotonic() + timeout
        drained_at = None
        prev = None
        stable = 0
        while time.monotonic() < deadline:
            if self.d.proc.poll() is not None:
                raise RuntimeError("drosera exited with %s while draining: %s"
                                   % (self.d.proc.returncode, self.d.stderr_text()[-2000:]))
            try:
                st = self.status()
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            ins, ev = st["inspection"], st["events"]
            done = ins["backlog"] == 0 and ev["written"] + ev["lost"] >= ins["captures"]
            if not done:
                drained_at = None
            elif drained_at is None:
                drained_at = time.monotonic()
            quiet = done and st["server"]["connections_active"] == 0
            sig = (ins["captures"], ev["written"], st["server"]["requests"])
            fresh = prev is None or prev[1] != st["updated_at"]
            if fresh:
                # two fresh status files in a row with nothing new and nothing open
                if quiet and prev is not None and prev[0] == sig:
                    stable += 1
                    if stable >= 2:
                        return drained_at - since, st
                else:
                    stable = 0
                prev = (sig, st["updated_at"])
            time.sleep(0.1)
        st = self.status()
        raise AssertionError("not drained after %ds: backlog %d, captures %d, events written %d, "
                             "connections active %d" % (timeout, st["inspection"]["backlog"],
                                                        st["inspection"]["captures"],
                                                        st["events"]["written"],
                                                        st["server"]["connections_active"]))

    def phase(self, name, runner, target):
        self.log("== %s" % name)
        s0 = self.status()
        lines0 = count_lines(self.d)
        self.mon.begin(name)
        t0 = time.monotonic()
        try:
            res = runner(target)
        except Exception as e:  # a broken runner is a failure of this phase, not of the suite
            res = tools.Result()
            res.problems.append("%s runner raised %r" % (name, e))
        t1 = time.monotonic()
        row = {"tool": name, "wall_s": t1 - t0}
        if res.skipped:
            self.mon.end()
            self.log("SKIP %s: %s" % (name, res.skipped))
            self.notes.append("%s skipped: %s" % (name, res.skipped))
            row["skipped"] = res.skipped
            self.rows.append(row)
            return
        try:
            drain_s, s1 = self.settle(t1, 900 if self.full else 120)
        except AssertionError as e:
            self.mon.end()
            self.fail("%s: %s" % (name, e))
            row["error"] = str(e)
            self.rows.append(row)
            return
        self.mon.end()
        lines1 = count_lines(self.d)
        peaks = self.mon.peaks.get(name, {"rss": 0, "backlog": 0})

        def delta(*path):
            a, b = s0, s1
            for p in path:
                a, b = a[p], b[p]
            return b - a

        req = delta("server", "requests")
        cap = delta("inspection", "captures")
        written = delta("events", "written")
        row.update(requests=req, captures=cap, events=lines1 - lines0, written=written,
                   reported=res.reported, reported_label=res.reported_label,
                   expected=res.expected, rss_mib=peaks["rss"] / 1024.0,
                   backlog=peaks["backlog"], drain_s=drain_s,
                   timeouts=delta("server", "timeouts"), bad=delta("server", "bad_requests"),
                   uninspected=delta("inspection", "uninspected"), lost=delta("events", "lost"))
        self.rows.append(row)
        for n in res.notes:
            self.log("  " + n)
            self.notes.append(n)
        for p in res.problems:
            self.fail("%s: %s" % (name, p))
        # every accepted request is an event, and the log holds exactly that many lines
        if written != cap:
            self.fail("%s: the sensor accepted %d requests (captures) but wrote %d events"
                      % (name, cap, written))
        if lines1 - lines0 != cap:
            self.fail("%s: the sensor accepted %d requests (captures) but the event log grew by "
                      "%d lines" % (name, cap, lines1 - lines0))
        if row["uninspected"] or row["lost"]:
            self.fail("%s: %d events uninspected, %d lost" % (name, row["uninspected"], row["lost"]))
        if res.expected is not None:
            lo, hi = res.expected
            if not lo <= req <= hi:
                want = str(lo) if lo == hi else "%d..%d" % (lo, hi)
                self.fail("%s: the tool reports %s %s, so the sensor should count %s requests; "
                          "it counted %d" % (name, res.reported, res.reported_label, want, req))
        values = {"timeouts": row["timeouts"], "captures": cap}
        for what, counter, (lo, hi) in res.extra_checks:
            if not lo <= values[counter] <= hi:
                self.fail("%s: %s: expected %d, the sensor counted %d"
                          % (name, what, lo, values[counter]))
        if self.d.proc.poll() is not None:
            raise RuntimeError("drosera died during %s (exit %s): %s"
                               % (name, self.d.proc.returncode, self.d.stderr_text()[-2000:]))
        self.log("  %s: %d requests, %d events, peak RSS %.0f MiB, backlog peak %d, drained in "
                 "%.1fs" % (name, req, lines1 - lines0, row["rss_mib"], row["backlog"], drain_s))

    def answers(self):
        t0 = time.monotonic()
        status, _, body = self.d.request("GET", "/")
        return status, time.monotonic() - t0, len(body)

    def run(self):
        self.t_start = time.monotonic()
        a = self.args
        harness.BIN = a.bin
        mode = "full" if self.full else "short"
        self.log("drosera load suite (%s) with %s; work folder %s" % (mode, a.bin, self.work))
        if os.environ.get("DROSERA_LOAD_NETNS"):
            bring_up_loopback()
            self.log("in a private network namespace: only loopback exists")
        self.d = harness.Drosera(config=self.config(), command="run")
        self.d.start()
        self.log("drosera run pid %d: real %d, fake %d, tls %d; data %s"
                 % (self.d.proc.pid, self.d.real, self.d.fake, self.d.tls, self.d.data_dir))
        time.sleep(1.0)
        self.rss_idle_kib = proc_kib(self.d.proc.pid, "VmRSS")
        self.mon = Monitor(self.d)
        self.mon.start()
        target = tools.Target(self.d.real, self.d.fake, self.d.tls, self.work, self.full,
                              self.header_timeout_s, self.body_timeout_s, self.log)
        selected = [x for x in tools.TOOLS if not a.only or x[0] in a.only.split(",")]
        try:
            for name, runner in selected:
                self.phase(name, runner, target)
            self.final_checks()
        except KeyboardInterrupt as e:
            self.fail("interrupted (%s)" % e)
        except Exception as e:  # drosera died or would not drain: report what we have
            self.fail(str(e))
        finally:
            self.mon.stop_flag = True
            self.mon.join(timeout=2)
            if self.d.proc and self.d.proc.poll() is None:
                rc = self.d.stop(timeout=120)
                if rc != 0:
                    self.fail("drosera exited with status %s on SIGTERM: %s"
                              % (rc, self.d.stderr_text()[-1000:]))
            self.write_samples()
        self.print_table()
        return self.finish()

    def final_checks(self):
        self.log("== final checks")
        d = self.d
        if d.proc.poll() is not None:
            raise RuntimeError("drosera is not running (exit %s)" % d.proc.returncode)
        status, took, size = self.answers()
        self.log("  GET / -> %d in %.3fs (%d bytes)" % (status, took, size))
        if status != 200 or took > 2.0:
            self.fail("after the load, GET / answered %d in %.2fs (want 200 within 2s)" % (status, took))
        cli = subprocess.run([self.args.bin, "status", "-d", d.data_dir], capture_output=True,
                             text=True, timeout=60)
        if cli.returncode != 0:
            self.fail("drosera status exited %d: %s" % (cli.returncode, cli.stderr[-400:]))
        _, st = self.settle(time.monotonic(), 120)
        ins, ev, srv = st["inspection"], st["events"], st["server"]
        lines, ids, problems, states = check_all_events(d)
        self.totals = dict(requests=srv["requests"], captures=ins["captures"], written=ev["written"],
                           lines=lines, ids=ids, states=states, rotations=ev["rotations"],
                           bytes=ev["bytes"], backlog_peak=ins["backlog_peak"])
        self.log("  sensor: %d requests, %d captures, %d events written (%d rotations, %.0f MiB), "
                 "log lines %d, unique ids %d, states %s"
                 % (srv["requests"], ins["captures"], ev["written"], ev["rotations"],
                    ev["bytes"] / MiB, lines, ids, states))
        for p in problems:
            self.fail(p)
        if not (ins["captures"] == ev["written"] == lines == ids):
            self.fail("captures %d, events written %d, event log lines %d, unique ids %d: all four "
                      "must be equal" % (ins["captures"], ev["written"], lines, ids))
        for k, v in (("inspection.uninspected", ins["uninspected"]), ("events.lost", ev["lost"]),
                     ("events.write_errors", ev["write_errors"]),
                     ("inspection.journal_errors", ins["journal_errors"])):
            if v:
                self.fail("%s = %d after the load (want 0)" % (k, v))
        if states.get("inspected", 0) != lines:
            self.fail("not every event was inspected: %s" % states)
        # The collector half of `drosera run`: the shipper delivers every event to the store.
        t0 = time.monotonic()
        stored = None
        while time.monotonic() - t0 < (600 if self.full else 120):
            stored = d.api("/api/v1/status")["store"]["events"]
            if stored >= ev["written"]:
                break
            time.sleep(0.5)
        self.totals["stored"] = stored
        self.totals["ship_s"] = time.monotonic() - t0
        self.log("  store: %d events (%.1fs after the sensor drained)" % (stored, self.totals["ship_s"]))
        if stored != ev["written"]:
            self.fail("the store holds %s events, the sensor wrote %d" % (stored, ev["written"]))
        # Memory.
        hwm = proc_kib(d.proc.pid, "VmHWM") or 0
        peak = max(hwm, self.mon.peaks.get("*", {}).get("rss", 0))
        bound = self.rss_bound_kib()
        self.totals.update(rss_idle_mib=self.rss_idle_kib / 1024.0, rss_peak_mib=peak / 1024.0,
                           rss_bound_mib=bound / 1024.0)
        self.log("  RSS: idle %.0f MiB, peak %.0f MiB (VmHWM %.0f MiB), bound %.0f MiB"
                 % (self.rss_idle_kib / 1024.0, peak / 1024.0, hwm / 1024.0, bound / 1024.0))
        if peak > bound:
            self.fail("peak RSS %.0f MiB is over the bound of %.0f MiB (idle %.0f MiB + 2 x "
                      "inspection.queue_max_bytes + 64 MiB SQLite cache + 128 MiB)"
                      % (peak / 1024.0, bound / 1024.0, self.rss_idle_kib / 1024.0))

    def write_samples(self):
        try:
            with open(os.path.join(self.work, "samples.csv"), "w") as f:
                f.write("t_s,rss_kib,backlog,phase\n")
                for s in self.mon.samples:
                    f.write("%s,%d,%d,%s\n" % (s[0], s[1], s[2], s[3] or ""))
        except (OSError, AttributeError):
            pass

    def print_table(self):
        hdr = ("tool", "wall s", "requests", "tool reports", "events", "peak RSS MiB",
               "backlog peak", "drain s", "")
        out = []
        for r in self.rows:
            if r.get("skipped"):
                out.append((r["tool"], "-", "-", "-", "-", "-", "-", "-", "skipped (see notes)"))
                continue
            if r.get("error"):
                out.append((r["tool"], "%.1f" % r["wall_s"], "-", "-", "-", "-", "-", "-", "did not drain"))
                continue
            rep = "n/a" if r["reported"] is None else str(r["reported"])
            ok = not any(f.startswith(r["tool"] + ":") for f in self.failures)
            out.append((r["tool"], "%.1f" % r["wall_s"], str(r["requests"]), rep, str(r["events"]),
                        "%.0f" % r["rss_mib"], str(r["backlog"]), "%.1f" % r["drain_s"],
                        "ok" if ok else "FAIL"))
        t = getattr(self, "totals", None)
        if t:
            done = [r for r in self.rows if "requests" in r]
            out.append(("total", "%.1f" % sum(r["wall_s"] for r in self.rows),
                        str(t["requests"]), "", str(t["lines"]), "%.0f" % t["rss_peak_mib"],
                        str(t["backlog_peak"]), "%.1f" % sum(r["drain_s"] for r in done), ""))
        widths = [max(len(str(x[i])) for x in [hdr] + out) for i in range(len(hdr))]
        fmt = lambda row: "  ".join(str(v).rjust(w) if i not in (0, 8) else str(v).ljust(w)
                                    for i, (v, w) in enumerate(zip(row, widths)))
        print()
        print("drosera load suite (%s): requests = the sensor's request counter for the phase; "
              "events = event log lines added" % ("full" if self.full else "short"))
        print(fmt(hdr))
        print("  ".join("-" * w for w in widths))
        for row in out:
            print(fmt(row))
        if t:
            print("store: %s events; captures %d = events written %d = log lines %d = unique ids %d; "
                  "RSS idle %.0f MiB, peak %.0f MiB, bound %.0f MiB; event log %.0f MiB, %d rotations"
                  % (t.get("stored"), t["captures"], t["written"], t["lines"], t["ids"],
                     t["rss_idle_mib"], t["rss_peak_mib"], t["rss_bound_mib"], t["bytes"] / MiB,
                     t["rotations"]))
        with open(os.path.join(self.work, "table.json"), "w") as f:
            json.dump({"rows": self.rows, "totals": t, "notes": self.notes,
                       "failures": self.failures}, f, indent=2, default=str)

    def finish(self):
        print()
        if self.failures:
            print("load suite FAILED (%d):" % len(self.failures))
            for f in self.failures:
                print("  - " + f)
            print("kept for inspection: %s and %s" % (self.work, self.d.tmp))
            return 1
        print("load suite passed: %d tools, %d skipped"
              % (sum(1 for r in self.rows if not r.get("skipped")),
                 sum(1 for r in self.rows if r.get("skipped"))))
        if self.args.keep:
            print("kept: %s and %s" % (self.work, self.d.tmp))
        else:
            self.d.cleanup()
            shutil.rmtree(self.work, ignore_errors=True)
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    m = ap.add_mutually_exclusive_group()
    m.add_argument("--short", action="store_true", help="each tool briefly (default)")
    m.add_argument("--full", action="store_true", help="large wordlists and deep scans (minutes)")
    ap.add_argument("--bin", default=os.environ.get("DROSERA_BIN", os.path.join(HERE, "../../build/release/drosera")),
                    help="the drosera binary (default: $DROSERA_BIN or build/release/drosera)")
    ap.add_argument("--only", help="comma-separated tools to run: " + ",".join(n for n, _ in tools.TOOLS))
    ap.add_argument("--keep", action="store_true", help="keep the data and work folders")
    ap.add_argument("--rss-bound-mib", type=int, help="override the RSS bound")
    ap.add_argument("--no-netns", action="store_true", help="stay in the host's network namespace")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    terminate_on_sigterm()
    if not os.access(a.bin, os.X_OK):
        print("no drosera binary at %s (build it, or pass --bin)" % a.bin, file=sys.stderr)
        return 2
    if not a.no_netns:
        rc = reexec_in_netns()
        if rc is not None:
            return rc
        if not os.environ.get("DROSERA_LOAD_NETNS"):
            print("note: no private network namespace here (needs root and unshare); the tools "
                  "still target 127.0.0.1 only", flush=True)
    return Suite(a).run()


if __name__ == "__main__":
    sys.exit(main())
