#!/usr/bin/env python3
"""Run OWASP CRS regression tests (ftw / go-ftw YAML) against a WAF that
writes a ModSecurity v3 JSON audit log (one JSON object per line).

Every request carries a marker header ``X-CRS-Test: <unique id>``; the
matching audit record is found through that header and the test's log
expectations are evaluated against the rule ids recorded in it.

Supported test formats:
  * ftw (CRS v3.x):   tests[].test_title, stages[].stage.{input,output},
                      output.{log_contains,no_log_contains,status,
                      expect_error,response_contains}
  * go-ftw (CRS v4):  rule_id, tests[].test_id, stages[].{input,output},
                      output.log.{expect_ids,no_expect_ids,match_regex,
                      no_match_regex}, output.{status,expect_error,
                      response_contains,log_contains,no_log_contains}

Only the Python standard library and python3-yaml are used.
Traffic is only ever sent to --host/--port (the YAML dest_addr/port
fields are ignored on purpose).
"""

import argparse
import base64
import collections
import json
import os
import re
import socket
import sys
import time
import urllib.parse
import uuid

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.stderr.write("python3-yaml is required (apt-get install python3-yaml)\n")
    sys.exit(2)

MARKER_HEADER = "X-CRS-Test"
ID_REGEX = re.compile(r'^\s*id\s*[:=]?\s*\\?["\']?(\d{5,7})\\?["\']?\s*$')


# ---------------------------------------------------------------------------
# Audit log tailing
# ---------------------------------------------------------------------------
class AuditLog:
    """Tails a JSON-lines audit log and indexes records by marker header."""

    def __init__(self, path, from_start=False):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.by_marker = collections.defaultdict(list)
        self.bad_lines = 0
        if not from_start:
            try:
                self.offset = os.path.getsize(path)
            except OSError:
                self.offset = 0

    def poll(self):
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return
        if size < self.offset:  # truncated / rotated
            self.offset = 0
            self.partial = b""
        if size == self.offset:
            return
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(size - self.offset)
        except OSError:
            return
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self._ingest(line)

    def _ingest(self, line):
        line = line.strip()
        if not line:
            return
        text = line.decode("utf-8", errors="replace")
        try:
            rec = json.loads(text, strict=False)
        except ValueError:
            self.bad_lines += 1
            return
        marker = record_marker(rec)
        if marker is not None:
            self.by_marker[marker].append(rec)

    def wait_for(self, marker, timeout):
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if marker in self.by_marker:
                # give a late second record (e.g. internal redirect) a moment
                time.sleep(0.02)
                self.poll()
                return self.by_marker[marker]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def record_marker(rec):
    try:
        headers = rec["transaction"]["request"]["headers"]
    except (KeyError, TypeError):
        return None
    if isinstance(headers, dict):
        items = headers.items()
    elif isinstance(headers, list):  # tolerate [{"name":..,"value":..}] / [[k,v]]
        items = []
        for h in headers:
            if isinstance(h, dict) and "name" in h:
                items.append((h.get("name"), h.get("value")))
            elif isinstance(h, (list, tuple)) and len(h) == 2:
                items.append((h[0], h[1]))
    else:
        return None
    for k, v in items:
        if isinstance(k, str) and k.lower() == MARKER_HEADER.lower():
            return str(v).strip()
    return None


def record_messages(records):
    msgs = []
    for rec in records or []:
        try:
            m = rec["transaction"].get("messages") or []
        except (AttributeError, TypeError):
            m = []
        for x in m:
            if isinstance(x, dict):
                msgs.append(x)
    return msgs


def message_rule_id(msg):
    d = msg.get("details") or {}
    rid = d.get("ruleId", d.get("id", msg.get("ruleId")))
    return str(rid).strip() if rid is not None else ""


def synth_log_lines(msgs):
    """One ModSecurity-error-log-like line per message, for generic regexes."""
    out = []
    for m in msgs:
        d = m.get("details") or {}
        tags = d.get("tags") or []
        if not isinstance(tags, list):
            tags = [tags]
        line = '[id "%s"] [msg "%s"] [data "%s"] [severity "%s"]' % (
            message_rule_id(m), m.get("message", ""), d.get("data", ""),
            d.get("severity", ""))
        line += "".join(' [tag "%s"]' % t for t in tags)
        out.append(line)
    return out


# ---------------------------------------------------------------------------
# Test loading / normalisation
# ---------------------------------------------------------------------------
Stage = collections.namedtuple("Stage", "input output")
Test = collections.namedtuple("Test", "tid file rule_file fmt stages desc")


def load_tests(tests_dir, filt, exclude=None):
    tests = []
    errors = []
    for root, _dirs, files in os.walk(tests_dir):
        for fn in sorted(files):
            if not (fn.endswith(".yaml") or fn.endswith(".yml")):
                continue
            path = os.path.join(root, fn)
            try:
                with open(path, "rb") as fh:
                    doc = yaml.safe_load(fh)
            except Exception as exc:  # noqa: BLE001
                errors.append((path, "yaml: %s" % exc))
                continue
            if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
                errors.append((path, "no tests list"))
                continue
            rule_file = os.path.basename(os.path.dirname(path))
            stem = os.path.splitext(fn)[0]
            rule_id = str(doc.get("rule_id", stem))
            for t in doc["tests"]:
                if not isinstance(t, dict):
                    continue
                if "test_title" in t:
                    tid, fmt = str(t["test_title"]), "ftw"
                elif "test_id" in t:
                    tid, fmt = "%s-%s" % (rule_id, t["test_id"]), "go-ftw"
                else:
                    continue
                stages = []
                for st in t.get("stages") or []:
                    if not isinstance(st, dict):
                        continue
                    if isinstance(st.get("stage"), dict):
                        st = st["stage"]
                    stages.append(Stage(st.get("input") or {}, st.get("output") or {}))
                desc = t.get("desc") or ""
                tests.append(Test(tid, path, rule_file, fmt, stages, str(desc)))
    tests.sort(key=lambda x: (x.rule_file, x.file, natural_key(x.tid)))
    if filt:
        rx = re.compile(filt)
        tests = [t for t in tests if rx.search(t.tid) or rx.search(t.file)]
    if exclude:
        rx = re.compile(exclude)
        tests = [t for t in tests
                 if not (rx.search(t.tid) or rx.search(t.file) or rx.search(t.desc))]
    return tests, errors


def natural_key(s):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


# ---------------------------------------------------------------------------
# Request building / sending
# ---------------------------------------------------------------------------
def to_bytes(v):
    if v is None:
        return b""
    if isinstance(v, bytes):
        return v
    if isinstance(v, bool):
        v = "true" if v else "false"
    return str(v).encode("utf-8", errors="surrogateescape")


def insert_marker(raw, marker):
    """Insert the marker header right after the request line of raw bytes."""
    idx = raw.find(b"\n")
    if idx < 0:
        return raw + b"\r\n" + to_bytes("%s: %s" % (MARKER_HEADER, marker)) + b"\r\n\r\n"
    eol = b"\r\n" if idx > 0 and raw[idx - 1:idx] == b"\r" else b"\n"
    return raw[: idx + 1] + to_bytes("%s: %s" % (MARKER_HEADER, marker)) + eol + raw[idx + 1:]


def ftw_encode_form(data):
    """ftw 'magic': re-encode urlencoded form data that is not encoded yet."""
    try:
        if urllib.parse.unquote(data) != data:
            return data
        pairs = urllib.parse.parse_qsl(data)
    except Exception:  # noqa: BLE001
        return data
    return urllib.parse.urlencode(pairs) if pairs else data


def build_request(inp, marker, fmt="ftw"):
    """Build the raw request bytes.

    ftw semantics (CRS 3.x tests): unless stop_magic is true, a request with
    data gets Content-Type: application/x-www-form-urlencoded (if missing),
    not-yet-encoded form data is urlencoded, and Content-Length is added.
    go-ftw semantics (CRS 4 tests): unless autocomplete_headers is false,
    Content-Type (if missing and data present), Content-Length and
    Connection: close are added; data is sent unchanged.
    The marker header is always added (after the request line for
    raw/encoded requests, otherwise as the last header).
    """
    if inp.get("encoded_request"):
        raw = base64.b64decode(inp["encoded_request"])
        return insert_marker(raw, marker)
    if inp.get("raw_request"):
        rr = inp["raw_request"]
        raw = "\r\n".join(rr) if isinstance(rr, list) else rr
        return insert_marker(to_bytes(raw), marker)

    method = inp.get("method", "GET")
    method = "GET" if method is None else str(method)
    uri = inp.get("uri", "/")
    uri = "/" if uri is None else str(uri)
    version = inp.get("version", "HTTP/1.1")
    version = "" if version is None else str(version)

    data = inp.get("data")
    if isinstance(data, list):
        data = "\r\n".join(str(x) for x in data)
    data = "" if data is None else (data if isinstance(data, str) else str(data))

    if "autocomplete_headers" in inp:
        autocomplete = bool(inp.get("autocomplete_headers"))
    else:
        autocomplete = not bool(inp.get("stop_magic", False))

    headers = inp.get("headers") or {}
    hdr_items = []
    if isinstance(headers, dict):
        hdr_items = list(headers.items())
    elif isinstance(headers, list):
        for h in headers:
            if isinstance(h, dict):
                hdr_items.extend(h.items())
    hdr_items = [(str(k), v) for k, v in hdr_items]
    names = {k.lower() for k, _ in hdr_items}

    extra = []
    if autocomplete and data != "":
        ctype = None
        for k, v in hdr_items:
            if k.lower() == "content-type":
                ctype = str(v)
        if ctype is None:
            ctype = "application/x-www-form-urlencoded"
            extra.append(("Content-Type", ctype))
        if fmt == "ftw" and ctype == "application/x-www-form-urlencoded":
            data = ftw_encode_form(data)
    body = to_bytes(data)
    if autocomplete:
        if body and "content-length" not in names and "transfer-encoding" not in names:
            extra.append(("Content-Length", len(body)))
        if fmt != "ftw" and "connection" not in names:
            extra.append(("Connection", "close"))

    lines = []
    reqline = to_bytes(method) + b" " + to_bytes(uri)
    if version:
        reqline += b" " + to_bytes(version)
    lines.append(reqline)
    for k, v in hdr_items + extra:
        lines.append(to_bytes(k) + b": " + to_bytes(v))
    lines.append(to_bytes("%s: %s" % (MARKER_HEADER, marker)))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


Response = collections.namedtuple("Response", "status raw error")


def send_request(host, port, payload, timeout):
    """Send raw bytes, read until close/timeout. Never raises."""
    raw = b""
    err = None
    sock = None
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        try:
            sock.sendall(payload)
        except OSError as exc:
            err = "send: %s" % exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                if not raw:
                    err = err or "timeout waiting for response"
                break
            except OSError as exc:
                if not raw:
                    err = err or "recv: %s" % exc
                break
            if not chunk:
                break
            raw += chunk
            if len(raw) > 4 * 1024 * 1024:
                break
            if response_complete(raw):
                break
    except OSError as exc:
        err = "connect: %s" % exc
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    status = None
    m = re.match(rb"HTTP/\d(?:\.\d)?\s+(\d{3})", raw)
    if m:
        status = int(m.group(1))
    elif err is None:
        err = "no HTTP response" if not raw else "unparseable response"
    return Response(status, raw, err)


def response_complete(raw):
    """True once a full (Content-Length framed) response has been read."""
    hdr_end = raw.find(b"\r\n\r\n")
    if hdr_end < 0:
        return False
    head = raw[:hdr_end].lower()
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
    if m:
        return len(raw) - (hdr_end + 4) >= int(m.group(1))
    if re.match(rb"http/\d(?:\.\d)?\s+(1\d\d|204|304)", head):
        return True
    if re.search(rb"\r\ntransfer-encoding:[^\r]*chunked", head):
        return raw.endswith(b"0\r\n\r\n")
    return False  # chunked / close-delimited: read until close


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def stage_expectations(out):
    """Normalise output expectations of both formats."""
    e = {"log": [], "nolog": [], "ids": [], "noids": [], "status": None,
         "expect_error": None, "response_contains": []}
    e["log"] += [str(x) for x in as_list(out.get("log_contains"))]
    e["nolog"] += [str(x) for x in as_list(out.get("no_log_contains"))]
    e["ids"] += [str(x) for x in as_list(out.get("expect_ids"))]
    e["noids"] += [str(x) for x in as_list(out.get("no_expect_ids"))]
    log = out.get("log")
    if isinstance(log, dict):
        e["ids"] += [str(x) for x in as_list(log.get("expect_ids"))]
        e["noids"] += [str(x) for x in as_list(log.get("no_expect_ids"))]
        e["log"] += [str(x) for x in as_list(log.get("match_regex"))]
        e["nolog"] += [str(x) for x in as_list(log.get("no_match_regex"))]
    if out.get("status") is not None:
        e["status"] = [int(x) for x in as_list(out.get("status"))]
    if "expect_error" in out:
        e["expect_error"] = bool(out.get("expect_error"))
    e["response_contains"] = [str(x) for x in as_list(out.get("response_contains"))]
    return e


def needs_log(e):
    return bool(e["log"] or e["nolog"] or e["ids"] or e["noids"])


def log_match(pattern, ids, lines):
    m = ID_REGEX.match(pattern)
    if m:
        return m.group(1) in ids
    try:
        rx = re.compile(pattern)
    except re.error:
        return any(pattern in ln for ln in lines)
    return any(rx.search(ln) for ln in lines)


def evaluate_stage(e, resp, records, check_status):
    """Return (verdict, reasons); verdict in pass/fail/no_record/skip."""
    reasons = []
    checks = 0
    if e["expect_error"] is not None:
        checks += 1
        got_error = resp.error is not None
        if e["expect_error"] != got_error:
            reasons.append("expect_error=%s but error=%r status=%r"
                           % (e["expect_error"], resp.error, resp.status))
    if e["status"] is not None and check_status:
        checks += 1
        if resp.status not in e["status"]:
            reasons.append("status %r not in %r" % (resp.status, e["status"]))
    for pat in e["response_contains"]:
        checks += 1
        text = resp.raw.decode("latin-1")
        try:
            ok = re.search(pat, text) is not None
        except re.error:
            ok = pat in text
        if not ok:
            reasons.append("response does not contain %r" % pat)
    if needs_log(e):
        checks += 1
        if records is None:
            return "no_record", reasons + ["no audit record with marker"]
        msgs = record_messages(records)
        ids = {message_rule_id(m) for m in msgs}
        lines = synth_log_lines(msgs)
        for pat in e["log"]:
            if not log_match(pat, ids, lines):
                reasons.append("log_contains %r not matched" % pat)
        for pat in e["nolog"]:
            if log_match(pat, ids, lines):
                reasons.append("no_log_contains %r matched" % pat)
        for rid in e["ids"]:
            if rid not in ids:
                reasons.append("expected id %s not logged" % rid)
        for rid in e["noids"]:
            if rid in ids:
                reasons.append("unexpected id %s logged" % rid)
    if checks == 0:
        return "skip", ["only status expectations (status checks disabled)"
                        if e["status"] is not None else "no expectations"]
    return ("fail" if reasons else "pass"), reasons


def load_overrides(path):
    if not path:
        return {}
    with open(path, "rb") as fh:
        doc = yaml.safe_load(fh) or {}
    ign = ((doc.get("testoverride") or {}).get("ignore") or {})
    return {str(k): str(v).strip() for k, v in ign.items()}


# ---------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True, help="JSON audit log to tail")
    ap.add_argument("--tests", default=os.path.join(here, "regression"))
    ap.add_argument("--filter", default=None, help="regex on test id or file path")
    ap.add_argument("--exclude", default=None,
                    help="regex on test id, file path or desc; matching tests are not run "
                         "(e.g. '^GHSA:' for the post-3.3.4 XML-attribute tests)")
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--timeout", type=float, default=5.0, help="socket timeout (s)")
    ap.add_argument("--log-wait", type=float, default=3.0,
                    help="max seconds to wait for the audit record of a request")
    ap.add_argument("--check-status", action="store_true",
                    help="evaluate 'status' expectations (off by default: the CRS "
                         "tests assume blocking, the targets run DetectionOnly)")
    ap.add_argument("--overrides", default=None,
                    help="ftw config YAML whose testoverride.ignore lists tests to ignore")
    ap.add_argument("--from-start", action="store_true",
                    help="read the audit log from offset 0 instead of its current size")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)

    tests, load_errors = load_tests(args.tests, args.filter, args.exclude)
    for path, msg in load_errors:
        print("WARN: cannot load %s: %s" % (path, msg), file=sys.stderr)
    if not tests:
        print("no tests found", file=sys.stderr)
        return 2
    ignores = load_overrides(args.overrides)
    alog = AuditLog(args.log, from_start=args.from_start)
    run_id = uuid.uuid4().hex[:8]

    results = []
    per_file = collections.OrderedDict()
    totals = collections.Counter()
    t0 = time.monotonic()
    for n, t in enumerate(tests, 1):
        res = {"test": t.tid, "file": os.path.relpath(t.file, args.tests),
               "rule_file": t.rule_file, "format": t.fmt, "stages": []}
        if t.tid in ignores:
            verdict, reasons = "ignored", [ignores[t.tid]]
        elif not t.stages:
            verdict, reasons = "skip", ["no stages"]
        else:
            verdict, reasons = "pass", []
            stage_verdicts = []
            for si, st in enumerate(t.stages):
                marker = "%s-%s-%d-%d" % (run_id, re.sub(r"[^A-Za-z0-9_.-]", "_", t.tid), n, si)
                e = stage_expectations(st.output)
                try:
                    payload = build_request(st.input, marker, t.fmt)
                except Exception as exc:  # noqa: BLE001
                    stage_verdicts.append("fail")
                    res["stages"].append({"marker": marker, "verdict": "fail",
                                          "reasons": ["cannot build request: %s" % exc]})
                    continue
                resp = send_request(args.host, args.port, payload, args.timeout)
                records = None
                if needs_log(e):
                    records = alog.wait_for(marker, args.log_wait)
                else:
                    alog.poll()
                    records = alog.by_marker.get(marker)
                sv, sr = evaluate_stage(e, resp, records, args.check_status)
                msgs = record_messages(records)
                res["stages"].append({
                    "marker": marker, "verdict": sv, "reasons": sr,
                    "status": resp.status, "error": resp.error,
                    "record_found": records is not None,
                    "matched_ids": sorted({message_rule_id(m) for m in msgs}),
                })
                stage_verdicts.append(sv)
                reasons += sr
            if "no_record" in stage_verdicts:
                verdict = "no_record"
            elif "fail" in stage_verdicts:
                verdict = "fail"
            elif all(v == "skip" for v in stage_verdicts):
                verdict = "skip"
            else:
                verdict = "pass"
        res["verdict"] = verdict
        res["reasons"] = reasons
        results.append(res)
        totals[verdict] += 1
        per_file.setdefault(t.rule_file, collections.Counter())[verdict] += 1
        if args.verbose or verdict in ("fail", "no_record"):
            if args.verbose or verdict != "pass":
                print("%-10s %-22s %s" % (verdict.upper(), t.tid, "; ".join(reasons)[:300]))
        sys.stdout.flush()

    elapsed = time.monotonic() - t0
    print()
    print("%-52s %6s %6s %6s %6s %6s %6s" % ("rule file", "total", "pass", "fail",
                                             "norec", "skip", "rate"))
    for rf, c in per_file.items():
        evald = c["pass"] + c["fail"] + c["no_record"]
        rate = (100.0 * c["pass"] / evald) if evald else 0.0
        print("%-52s %6d %6d %6d %6d %6d %5.1f%%" % (
            rf, sum(c.values()), c["pass"], c["fail"], c["no_record"],
            c["skip"] + c["ignored"], rate))
    evald = totals["pass"] + totals["fail"] + totals["no_record"]
    rate = (100.0 * totals["pass"] / evald) if evald else 0.0
    print()
    print("TOTAL tests: %d  evaluated: %d  passed: %d  failed: %d (of which no-record: %d)  "
          "skipped: %d  ignored: %d" % (
              len(results), evald, totals["pass"], totals["fail"] + totals["no_record"],
              totals["no_record"], totals["skip"], totals["ignored"]))
    print("PASS RATE: %.1f%% (%d/%d evaluated tests)" % (rate, totals["pass"], evald))
    print("status checks: %s" % ("ENABLED" if args.check_status else
                                  "DISABLED (status-only tests are skipped; use --check-status)"))
    print("elapsed: %.1fs, unparseable audit log lines: %d" % (elapsed, alog.bad_lines))
    print("%d passed, %d failed" % (totals["pass"], totals["fail"] + totals["no_record"]))

    if args.json_out:
        summary = {
            "run_id": run_id, "target": "%s:%d" % (args.host, args.port),
            "log": args.log, "check_status": args.check_status,
            "totals": dict(totals), "evaluated": evald, "pass_rate": rate,
            "per_rule_file": {k: dict(v) for k, v in per_file.items()},
            "results": results,
        }
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
