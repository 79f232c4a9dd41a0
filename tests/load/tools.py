"""The real attack tools of the load suite: how each is run against drosera over loopback and
what it reports about its own traffic (python3 standard library only).

Every runner gets a Target (ports, work folder, mode) and returns a Result:
  reported       the request count the tool itself reports (None where it reports none)
  expected       (lo, hi): the requests drosera must have counted in this phase, derived from the
                 tool's report plus the probes the tool is known to add (None: no expectation)
  notes          what else is worth printing (findings, scripts run, skipped modules)
  problems       what went wrong on the tool's side (a failure of the suite)
Only 127.0.0.1 is ever a target.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import slow_clients

DIRB_LISTS = "/usr/share/dirb/wordlists"
PREEXEC = None  # set by loadtest.py: tools die with the suite
MAX_KEEPALIVE_REQUESTS = 100  # limits.max_keepalive_requests of the suite's configuration


class Result:
    def __init__(self):
        self.reported = None
        self.reported_label = ""
        self.expected = None
        self.notes = []
        self.problems = []
        self.skipped = None
        self.extra_checks = []  # (description, sensor counter delta name, expected (lo, hi))


class Target:
    def __init__(self, real, fake, tls, work, full, header_timeout_s, body_timeout_s, log):
        self.real = real
        self.fake = fake
        self.tls = tls
        self.work = work
        self.full = full
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.log = log
        self.home = os.path.join(work, "home")  # tools keep their state here, not in ~
        os.makedirs(self.home, exist_ok=True)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.real

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, name, argv, timeout, stdin=None):
        """Runs a tool in its own process group; returns (rc, stdout text, stderr text, seconds)."""
        out_path, err_path = self.path(name + ".stdout"), self.path(name + ".stderr")
        env = dict(os.environ, HOME=self.home, LC_ALL="C.UTF-8", TERM="dumb")
        env.pop("http_proxy", None)
        env.pop("https_proxy", None)
        env.pop("HTTP_PROXY", None)
        env.pop("HTTPS_PROXY", None)
        self.log("  $ " + " ".join(_quote(a) for a in argv))
        t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin or subprocess.DEVNULL,
                                 cwd=self.work, env=env, start_new_session=True,
                                 preexec_fn=PREEXEC)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = "timeout after %ds" % timeout
            except KeyboardInterrupt:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
        took = time.monotonic() - t0
        with open(out_path, errors="replace") as f:
            out_text = f.read()
        with open(err_path, errors="replace") as f:
            err_text = f.read()
        return rc, out_text, err_text, took


def _quote(a):
    return a if re.fullmatch(r"[\w./:=,@%+-]+", a) else "'" + a.replace("'", "'\\''") + "'"


def missing(binary):
    """Why a tool cannot run here, or None."""
    if shutil.which(binary) is None:
        return ("%s is not installed (Debian package %s; scripts/install-deps.sh load installs it)"
                % (binary, binary))
    return None


def _bad_rc(r, name, rc, err):
    if rc != 0:
        r.problems.append("%s exited with %s: %s" % (name, rc, err.strip()[-400:]))


# ---- ffuf: content discovery with a large wordlist -------------------------------------------
def ffuf(t):
    r = Result()
    r.skipped = missing("ffuf")
    if r.skipped:
        return r
    wordlist = os.path.join(DIRB_LISTS, "big.txt" if t.full else "common.txt")
    out = t.path("ffuf.json")
    argv = ["ffuf", "-u", t.base + "/FUZZ", "-w", wordlist, "-t", "40", "-mc", "all",
            "-timeout", "30", "-of", "json", "-o", out]
    if t.full:
        argv += ["-e", ".php,.bak,.txt"]
    rc, _, err, _ = t.run("ffuf", argv, 1800 if t.full else 120)
    _bad_rc(r, "ffuf", rc, err)
    try:
        with open(out) as f:
            results = json.load(f)["results"]
    except (OSError, ValueError, KeyError) as e:
        r.problems.append("ffuf wrote no readable JSON report: %s" % e)
        return r
    errors = [int(x) for x in re.findall(r"Errors: (\d+)", err)]
    n_err = errors[-1] if errors else 0
    progress = re.findall(r"Progress: \[(\d+)/(\d+)\]", err)
    # Its own count: the last progress line (the JSON leaves out the empty word's result).
    r.reported = int(progress[-1][0]) if progress else len(results)
    r.reported_label = "requests (Progress)"
    r.expected = (r.reported, r.reported + n_err)
    found = sorted({x["input"]["FUZZ"] for x in results if x["status"] not in (404,)})
    r.notes.append("ffuf: %d responses, %d errors, wordlist %s%s; not 404: %d (e.g. %s)"
                   % (len(results), n_err, os.path.basename(wordlist),
                      " x {'', .php, .bak, .txt}" if t.full else "", len(found),
                      ", ".join(found[:8])))
    return r


# ---- gobuster dir ------------------------------------------------------------------------------
def gobuster(t):
    r = Result()
    r.skipped = missing("gobuster")
    if r.skipped:
        return r
    wordlist = os.path.join(DIRB_LISTS, "big.txt" if t.full else "small.txt")
    out = t.path("gobuster.txt")
    # -v prints every request it made ("Missed:" for the 404s), so the output is its own count.
    argv = ["gobuster", "dir", "-u", t.base + "/", "-w", wordlist, "-t", "40", "--no-color",
            "-q", "-z", "-v", "--timeout", "30s", "-o", out]
    argv += ["-x", "php,txt"] if t.full else ["-x", "php"]
    rc, _, err, _ = t.run("gobuster", argv, 1800 if t.full else 120)
    _bad_rc(r, "gobuster", rc, err)
    try:
        with open(out, errors="replace") as f:
            lines = [l for l in f if "(Status:" in l]
    except OSError as e:
        r.problems.append("gobuster wrote no output file: %s" % e)
        return r
    n_err = len(re.findall(r"\[ERROR\]|error on running", err))
    r.reported = len(lines)
    r.reported_label = "results with -v"
    # gobuster 3.5 adds two probes before the wordlist: GET / (is the server up) and
    # GET /<random UUID> (does it answer everything: wildcard detection).
    r.expected = (r.reported + 2, r.reported + 2 + n_err)
    found = [l.split("Found:", 1)[-1].split()[0] for l in lines if "Missed:" not in l]
    r.notes.append("gobuster: %d requests reported (+2 probes), %d errors, found %d paths (%s)"
                   % (len(lines), n_err, len(found), ", ".join(found[:8])))
    return r


# ---- dirb (recursive) --------------------------------------------------------------------------
def dirb(t):
    r = Result()
    r.skipped = missing("dirb")
    if r.skipped:
        return r
    wordlist = os.path.join(DIRB_LISTS, "common.txt" if t.full else "others/best1050.txt")
    argv = ["dirb", t.base + "/", wordlist, "-S", "-o", t.path("dirb.txt")]
    rc, out, err, _ = t.run("dirb", argv, 1800 if t.full else 120)
    _bad_rc(r, "dirb", rc, err)
    m = re.search(r"DOWNLOADED: (\d+) - FOUND: (\d+)", out)
    if not m:
        r.problems.append("dirb printed no DOWNLOADED line: %s" % (out + err).strip()[-400:])
        return r
    downloaded, found = int(m.group(1)), int(m.group(2))
    scanned = 1 + out.count("---- Entering directory:")
    r.reported = downloaded
    r.reported_label = "DOWNLOADED"
    # dirb adds per scanned directory two NOT_FOUND probes (randomfile1, frand2), and per
    # directory it recurses into one request for the directory itself: 3 * dirs - 1 in all.
    r.expected = (downloaded + 3 * scanned - 1,) * 2
    r.notes.append("dirb: DOWNLOADED %d, FOUND %d, %d directories scanned recursively"
                   % (downloaded, found, scanned))
    return r


# ---- sqlmap (batch) against a parameter and the login form ------------------------------------
def sqlmap(t):
    r = Result()
    r.skipped = missing("sqlmap")
    if r.skipped:
        return r
    common = ["--batch", "--flush-session", "--disable-coloring", "--output-dir",
              t.path("sqlmap-out"), "--timeout", "30", "--retries", "0"]
    runs = [
        ("sqlmap-param", ["-u", t.base + "/news.html?id=1&cat=ops"] +
         (["--level", "3", "--risk", "2", "--threads", "4"] if t.full else [])),
        # --forms: sqlmap reads the page and tests every form on it (the login form and the
        # newsletter form, each with the hidden honeytrap field)
        ("sqlmap-form", ["-u", t.base + "/login.php", "--forms", "--level", "2", "--threads", "4"]
         if t.full else
         ["-u", t.base + "/login.php", "--data", "username=admin&password=secret&remember=1"]),
    ]
    total = 0
    for name, target in runs:
        traffic = t.path(name + "-traffic.txt")
        rc, out, err, _ = t.run(name, ["sqlmap"] + target + common + ["-t", traffic],
                                1800 if t.full else 120)
        _bad_rc(r, name, rc, err)
        try:
            with open(traffic, errors="replace") as f:
                n = sum(1 for l in f if l.startswith("HTTP request [#"))
        except OSError as e:
            r.problems.append("%s wrote no traffic file: %s" % (name, e))
            continue
        total += n
        verdict = re.findall(r"\[(?:WARNING|CRITICAL|ERROR)\] (all tested parameters do not "
                             r"appear to be injectable|[^\n]*is vulnerable[^\n]*)", out)
        r.notes.append("%s: %d requests in its traffic log (-t); %s"
                       % (name, n, verdict[-1] if verdict else "no verdict line"))
    r.reported = total
    r.reported_label = "requests in -t log"
    r.expected = (total, total)
    return r


# ---- wapiti (a few modules) --------------------------------------------------------------------
# Left out on purpose: ssrf and xxe make the target call wapiti's public endpoint, nikto and
# wapp download their databases from the internet; this suite sends traffic to 127.0.0.1 only.
WAPITI_SHORT = "sql,xss,exec,file,crlf,backup"
WAPITI_FULL = ("sql,blindsql,xss,permanentxss,exec,file,crlf,backup,htaccess,methods,shellshock,"
               "redirect,csrf,http_headers,cookieflags,csp,buster,brute_login_form")


def wapiti(t):
    r = Result()
    r.skipped = missing("wapiti")
    if r.skipped:
        return r
    report = t.path("wapiti.json")
    modules = WAPITI_FULL if t.full else WAPITI_SHORT
    argv = ["wapiti", "-u", t.base + "/", "-m", modules, "--scope", "folder",
            "-d", "3" if t.full else "2",
            "--max-scan-time", "180" if t.full else "40",
            "--max-attack-time", "45" if t.full else "15",
            "--flush-session", "--store-session", t.path("wapiti-session"),
            "--store-config", t.path("wapiti-config"),
            "--endpoint", t.base + "/", "--no-bugreport", "-t", "30",
            "-f", "json", "-o", report, "-v", "1"]
    rc, out, err, _ = t.run("wapiti", argv, 900 if t.full else 120)
    _bad_rc(r, "wapiti", rc, err)
    try:
        with open(report) as f:
            rep = json.load(f)
        vulns = {k: len(v) for k, v in rep.get("vulnerabilities", {}).items() if v}
        anomalies = {k: len(v) for k, v in rep.get("anomalies", {}).items() if v}
        r.notes.append("wapiti modules %s; findings %s; anomalies %s" % (modules, vulns, anomalies))
    except (OSError, ValueError) as e:
        r.problems.append("wapiti wrote no readable report: %s" % e)
    r.notes.append("wapiti reports no request count; left out: ssrf, xxe (they use wapiti's "
                   "public endpoint), nikto, wapp (they download databases)")
    return r


# ---- nmap http scripts -------------------------------------------------------------------------
NMAP_SHORT = ("http-enum,http-methods,http-headers,http-title,http-server-header,http-robots.txt,"
              "http-passwd,http-sql-injection,http-shellshock,http-git,http-config-backup,"
              "http-phpmyadmin-dir-traversal,http-vuln-cve2017-5638,http-backup-finder,"
              "http-userdir-enum,http-trace")
NMAP_FULL = "http-* and not (external or dos)"
NMAP_HTTP_PORTS = {80, 443, 631, 7080, 8080, 8443, 8088, 5800, 3872, 8180, 8000}  # shortport.http


def nmap(t):
    r = Result()
    r.skipped = missing("nmap")
    if r.skipped:
        return r
    xml = t.path("nmap.xml")
    scripts = NMAP_FULL if t.full else NMAP_SHORT
    ports = [t.real, t.tls] if t.full else [t.real]
    # The http scripts run on ports nmap takes for HTTP: well-known numbers (the suite's private
    # network namespace uses 8080/8000/8443) or what version detection (-sV) names http. -sV
    # costs about 11 s of probe timeouts (its probes are hostile input of their own): the full
    # run always uses it.
    version = t.full or any(p not in NMAP_HTTP_PORTS for p in ports)
    argv = ["nmap", "-Pn", "-n"] + (["-sV"] if version else []) + [
        "-p", ",".join(map(str, ports)), "--script", scripts,
        "--script-timeout", "120s" if t.full else "60s", "-oX", xml, "127.0.0.1"]
    rc, out, err, _ = t.run("nmap", argv, 1200 if t.full else 150)
    _bad_rc(r, "nmap", rc, err)
    try:
        root = ET.parse(xml).getroot()
        ran = sorted({s.get("id") for s in root.iter("script")})
        services = ["%s/%s %s %s" % (p.get("portid"), p.get("protocol"),
                                      (p.find("service").get("name") if p.find("service") is not None else "?"),
                                      (p.find("service").get("product") or "" if p.find("service") is not None else ""))
                    for p in root.iter("port")]
        r.notes.append("nmap: %s; %d scripts with output: %s" % ("; ".join(services), len(ran),
                                                                  ", ".join(ran)))
    except (OSError, ET.ParseError) as e:
        r.problems.append("nmap wrote no readable XML: %s" % e)
    r.notes.append("nmap reports no request count (scripts %s)" % scripts)
    return r


# ---- siege with 255 concurrent clients --------------------------------------------------------
SIEGERC = """verbose = false
color = off
quiet = true
json_output = true
show-logfile = false
logging = false
parser = true
limit = 255
protocol = HTTP/1.1
chunked = true
cache = false
connection = {connection}
delay = 0.0
benchmark = true
internet = false
accept-encoding = gzip, deflate
url-escaping = true
failures = 1000000
timeout = 60
"""


def siege(t):
    r = Result()
    r.skipped = missing("siege")
    if r.skipped:
        return r
    rc_path = t.path("siegerc")
    urls = t.path("siege-urls.txt")
    with open(rc_path, "w") as f:
        f.write(SIEGERC.format(connection="close"))
    with open(urls, "w") as f:
        f.write("\n".join([
            t.base + "/",
            t.base + "/services.html",
            t.base + "/login.php POST username=admin&password=hunter2&remember=1",
            t.base + "/news.html?id=1%27%20or%20%271%27=%271",
            t.base + "/contact.php POST name=x&email=a%40b.c&message=%3Cscript%3Ealert(1)%3C/script%3E",
            t.base + "/robots.txt",
            "http://127.0.0.1:%d/" % t.fake,
            "https://127.0.0.1:%d/index.html" % t.tls,
        ]) + "\n")
    reps = "30" if t.full else "3"
    argv = ["siege", "-R", rc_path, "-c", "255", "-r", reps, "-f", urls]
    rc, out, err, _ = t.run("siege", argv, 1200 if t.full else 120)
    _bad_rc(r, "siege", rc, err)
    try:
        stats = json.loads(out[out.index("{"):out.rindex("}") + 1])
    except ValueError:
        r.problems.append("siege printed no JSON statistics: %s" % (out + err).strip()[-400:])
        return r
    tx, failed = int(stats["transactions"]), int(stats["failed_transactions"])
    r.reported = tx
    r.reported_label = "transactions"
    r.expected = (tx, tx + failed)
    if failed:
        r.problems.append("siege: %d failed transactions (availability %s%%)"
                          % (failed, stats["availability"]))
    r.notes.append("siege -c 255 -r %s: %d transactions, %d failed, availability %s%%, "
                   "%.0f trans/s, longest %.2fs"
                   % (reps, tx, failed, stats["availability"], stats["transaction_rate"],
                      stats["longest_transaction"]))
    return r


# ---- slow clients ------------------------------------------------------------------------------
def slow(t):
    r = Result()
    counts = (dict(slow_headers=1000, slow_bodies=300, partial_heads=100, partial_bodies=100,
                   idle=100, non_readers=20, pipeliners=20, probes=40) if t.full else
              dict(slow_headers=100, slow_bodies=50, partial_heads=20, partial_bodies=20,
                   idle=20, non_readers=5, pipeliners=5, probes=10))
    t.log("  slow clients: %s (header timeout %.0fs, body timeout %.0fs)"
          % (", ".join("%s=%d" % kv for kv in counts.items()), t.header_timeout_s, t.body_timeout_s))
    s = slow_clients.run(t.real, t.tls, header_timeout_s=t.header_timeout_s,
                         max_keepalive_requests=MAX_KEEPALIVE_REQUESTS,
                         body_timeout_s=t.body_timeout_s, log=lambda m: t.log("  " + m), **counts)
    with open(t.path("slow.json"), "w") as f:
        json.dump(s, f, indent=2)
    r.problems += s["problems"]
    r.reported = s["expected_requests_min"]
    r.reported_label = "answers seen"
    r.expected = (s["expected_requests_min"], s["expected_requests_max"])
    r.extra_checks.append(("408 after the header/body timeout", "timeouts",
                           (s["expected_timeouts"],) * 2))
    r.extra_checks.append(("every request sent recorded, answered or not (cut, pipelined behind "
                           "a close, behind a stalled write)", "captures",
                           (s["expected_captures"],) * 2))
    k = s["kinds"]
    r.notes.append("slow: %d connections; %s; probes %d/%d answered, slowest %.3fs"
                   % (s["connections"],
                      "; ".join("%s %d %s closed<=%ss" % (n, v["n"], v["statuses"], v["closed_after_s_max"])
                                for n, v in k.items()),
                      s["probes"]["ok"], s["probes"]["n"], s["probes"]["max_s"]))
    return r


TOOLS = [("ffuf", ffuf), ("gobuster", gobuster), ("dirb", dirb), ("sqlmap", sqlmap),
         ("wapiti", wapiti), ("nmap", nmap), ("siege", siege), ("slow", slow)]
