"""Honeytraps over HTTP against the real binary (issue 3, "Checked by"):
the data-driven cases in tests/traps/cases.yaml, honeytokens used later, attacker state across a
restart, randomised baits per install, and ordinary browsing of the whole site triggering nothing."""
import html.parser
import http.cookiejar
import os
import re
import urllib.parse
import urllib.request
import unittest

import yaml

from harness import Drosera, default_config, header, marked, parse_response, raw_bytes

CASES = os.path.join(os.path.dirname(__file__), "..", "traps", "cases.yaml")
PINNED = """
[traps]
robots_path = "/db-archive/"
robots_realm = "Backups"
comment_path = "/login.php.bak"
hidden_field_name = "debug"
hidden_field_value = "0"
cookie_name = "acct_tier"
"""


def send(d, case, marker):
    req = case["request"]
    port = d.fake if case.get("port") == "fake" else d.real
    headers = dict(req.get("headers", {}))
    body = None
    if "form" in req:
        body = req["form"]
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return d.request(req["method"], req["path"], port=port, headers=headers, body=body, marker=marker)


class TrapCasesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Drosera(default_config(PINNED)).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_cases(self):
        with open(CASES) as f:
            cases = yaml.safe_load(f)
        self.assertGreaterEqual(len(cases), 12)
        for i, case in enumerate(cases):
            with self.subTest(case["name"]):
                marker = "case-%d" % i
                status, headers, body = send(self.d, case, marker)
                self.assertEqual(status, case["status"], body[:300])
                self.assertNotEqual(status, 403)
                for k, v in case.get("headers", {}).items():
                    self.assertEqual(headers.get(k.lower()), v)
                for s in case.get("body_contains", []):
                    self.assertIn(s.encode(), body)
                ev = self.d.wait_events(marked(marker))[0]
                got = [{k: t[k] for k in ("kind", "bait", "captured")} for t in ev["drosera"]["traps"]]
                want = [{k: str(t[k]).replace("{fake_port}", str(self.d.fake)) for k in ("kind", "bait", "captured")}
                        for t in case["traps"]]
                self.assertEqual(got, want)
                for t in ev["drosera"]["traps"]:
                    self.assertTrue(9400001 <= t["rule_id"] <= 9400099)
                    tagged = [m for m in ev["transaction"]["messages"]
                              if m["details"]["ruleId"] == str(t["rule_id"])]
                    self.assertTrue(tagged, "the trap rule is in the audit messages")
                    self.assertIn("honeytrap/" + t["kind"], tagged[0]["details"]["tags"])
                if case["traps"]:
                    self.assertTrue(ev["drosera"]["attacker"]["flagged"])

    def test_honeytoken_used_later_is_linked_to_the_event_that_handed_it_out(self):
        # A visitor of its own (its cookie), so that this request is the first hand-out.
        cookie = self.d.request("GET", "/")[1]["set-cookie"].split(";")[0]
        status, _, body = self.d.request("GET", "/.env", marker="handout", headers={"Cookie": cookie})
        key = re.search(rb"AWS_SECRET_ACCESS_KEY=(\w+)", body).group(1).decode()
        origin = self.d.wait_events(marked("handout"))[0]["transaction"]["unique_id"]
        # Days later, against another listener, in a header.
        self.d.request("GET", "/api/v1/upload", port=self.d.fake, marker="use",
                       headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x, Signature=" + key})
        ev = self.d.wait_events(marked("use"))[0]
        tokens = [t for t in ev["drosera"]["traps"] if t["kind"] == "honeytoken"]
        self.assertEqual(len(tokens), 1)
        self.assertEqual(tokens[0]["captured"], key)
        self.assertEqual(tokens[0]["bait"], "aws_secret_access_key")
        self.assertEqual(tokens[0]["origin"], origin)

    def test_tokens_differ_per_visitor(self):
        a = self.d.request("GET", "/.env")[2]
        # Another visitor: a valid cookie of its own.
        first = self.d.request("GET", "/")
        cookie = first[1]["set-cookie"].split(";")[0]
        b = self.d.request("GET", "/.env", headers={"Cookie": cookie})[2]
        pa = re.search(rb"DB_PASSWORD=(\w+)", a).group(1)
        pb = re.search(rb"DB_PASSWORD=(\w+)", b).group(1)
        self.assertNotEqual(pa, pb)


class AttackerStateTest(unittest.TestCase):
    def test_flag_carries_over_to_later_events_and_survives_a_restart(self):
        d = Drosera(default_config(PINNED))
        try:
            d.start()
            d.request("GET", "/", marker="before")
            d.request("GET", "/.git/config", marker="trap")
            d.request("GET", "/about.html", marker="after")
            self.assertFalse(d.wait_events(marked("before"))[0]["drosera"]["attacker"]["flagged"])
            after = d.wait_events(marked("after"))[0]["drosera"]["attacker"]
            self.assertTrue(after["flagged"])
            self.assertEqual(after["traps"], ["sensitive_file"])
            self.assertEqual(d.stop(), 0)
            d.start()
            d.request("GET", "/services.html", marker="restarted")
            again = d.wait_events(marked("restarted"))[0]["drosera"]["attacker"]
            self.assertTrue(again["flagged"])
            self.assertGreaterEqual(again["events"], 4)
            self.assertEqual(again["first_seen"], after["first_seen"])
        finally:
            d.cleanup()


class RandomisedBaitsTest(unittest.TestCase):
    def test_two_installs_lay_different_baits_and_one_install_keeps_its_own(self):
        robots = []
        for _ in range(2):
            d = Drosera(default_config())
            try:
                d.start()
                first = d.request("GET", "/robots.txt")[2]
                d.stop()
                d.start()  # same install, restarted
                self.assertEqual(d.request("GET", "/robots.txt")[2], first)
                robots.append(first)
            finally:
                d.cleanup()
        self.assertNotEqual(robots[0], robots[1])


class LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.forms, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "img") and a.get("src"):
            self.links.append(a["src"])
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []}
        if self._form is not None and tag in ("input", "textarea", "select"):
            self._form["fields"].append((tag, a))

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def fill(fields):
    """A visitor filling a form: its own values for hidden fields, plausible text elsewhere."""
    data = []
    for tag, a in fields:
        name = a.get("name")
        if not name:
            continue
        kind = a.get("type", "text").lower()
        if kind == "hidden":
            data.append((name, a.get("value", "")))
        elif kind == "checkbox":
            data.append((name, a.get("value", "on")))
        elif kind in ("submit", "button", "radio"):
            continue
        elif tag == "select":
            data.append((name, "quote"))
        elif kind == "email" or "mail" in name:
            data.append((name, "jane.doe@example.com"))
        elif kind == "password":
            data.append((name, "correct horse"))
        else:
            data.append((name, "Jane Doe"))
    return urllib.parse.urlencode(data)


class OrdinaryBrowsingTest(unittest.TestCase):
    """A browser-like visitor: every page, every asset, every form with its own values, cookies
    sent back unchanged, robots.txt read but not followed: no trap may fire."""

    def test_browsing_the_whole_site_triggers_no_trap(self):
        d = Drosera(default_config())
        try:
            d.start()
            base = "http://127.0.0.1:%d" % d.real
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            opener.addheaders = [("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                                 ("Accept", "text/html,*/*;q=0.8"), ("Accept-Language", "en-US,en;q=0.5")]
            opener.open(base + "/robots.txt").read()  # read, not followed
            seen, queue, forms = set(), ["/"], []
            while queue:
                path = queue.pop()
                if path in seen:
                    continue
                seen.add(path)
                resp = opener.open(base + path)
                body = resp.read()
                if "text/html" not in resp.headers.get("Content-Type", ""):
                    continue
                p = LinkParser()
                p.feed(body.decode("utf-8", "replace"))
                for link in p.links:
                    u = urllib.parse.urlparse(urllib.parse.urljoin(base + path, link))
                    if u.netloc == "127.0.0.1:%d" % d.real and u.path not in seen:
                        queue.append(u.path)
                for f in p.forms:
                    forms.append((path, f))
            self.assertGreaterEqual(len(seen), 10)
            self.assertGreaterEqual(len(forms), 10)
            for page, f in forms:
                action = urllib.parse.urljoin(base + page, f["action"] or page)
                data = fill(f["fields"]).encode()
                if f["method"] == "post":
                    opener.open(urllib.request.Request(action, data=data)).read()
                else:
                    opener.open(action + "?" + data.decode()).read()
            self.assertTrue(any(c.name for c in jar), "the site set no cookie to send back")
            import time
            time.sleep(1.0)
            events = d.all_events()
            self.assertGreaterEqual(len(events), len(seen) + len(forms))
            fired = [(e["transaction"]["request"]["uri"], e["drosera"]["traps"]) for e in events
                     if e["drosera"]["traps"]]
            self.assertEqual(fired, [])
            self.assertFalse(any(e["drosera"]["attacker"]["flagged"] for e in events))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
