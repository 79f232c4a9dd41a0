"""Shipping (drosera run: the sensor's shipper to the collector over loopback) of the events an
attacker makes as large as they can."""
import json
import os
import unittest
import urllib.parse

from harness import RunOnDefaults

# kMaxEventLineBytes (src/sensor/event_record.h), the newline included.
MAX_LINE = 4 << 20


def padded_sqli_post(d, path, filler):
    """A form POST whose one value starts with SQLi and XSS and is padded with 0x01 bytes: every
    CRS rule that matches it logs the whole value, and each byte is escaped as \\u0001."""
    value = (b"1' or '1'='1' union select password from users -- "
             b"<script>alert(document.cookie)</script>" + b"\x01" * filler)
    return d.request("POST", path, body=b"a=" + value,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})


class PaddedAttackTest(RunOnDefaults):
    """A 1 MB padded SQLi POST made a 42 MB event line (seven rule hits carrying the whole value,
    JSON-escaped six times over): the shipper skipped it as longer than any line the sensor
    writes, counting only bytes, and the attacker's event never reached the store."""

    def stored(self, uri):
        page = self.d.wait_api("/api/v1/events?q=" + urllib.parse.quote(uri),
                               lambda p: any(e["uri"] == uri for e in p["events"]), timeout=120)
        return [e for e in page["events"] if e["uri"] == uri][0]

    def test_a_padded_attack_is_shipped_and_stored(self):
        d = self.d
        d.request("GET", "/before-padded")
        padded_sqli_post(d, "/login.php?t=padded", 1000000)
        d.request("GET", "/after-padded")
        for uri in ("/before-padded", "/after-padded"):
            self.stored(uri)
        ev = self.stored("/login.php?t=padded")
        self.assertIn(942100, [r["id"] for r in ev["rules"]])
        full = d.api("/api/v1/events/%s" % ev["seq"])
        cut = [r for r in full["rules"] if "bytes omitted)" in r["data"]]
        self.assertGreaterEqual(len(cut), 2, [r["id"] for r in full["rules"]])
        for r in full["rules"]:
            self.assertLess(len(r["data"]), 1024, r["id"])
            self.assertLess(len(r["match"]), 1024, r["id"])
        record = json.loads(full["raw_record"])
        self.assertEqual(record["transaction"]["unique_id"], ev["unique_id"])
        # On disk: one line, under the maximum.
        with open(d.event_log_path(), "rb") as f:
            sizes = [len(line) for line in f if b"/login.php?t=padded" in line]
        self.assertEqual(len(sizes), 1)
        self.assertLessEqual(sizes[0], MAX_LINE)
        shipper = d.status()["shipper"]
        self.assertEqual(shipper["skipped_bytes"], 0)
        self.assertEqual(shipper["refused_lines"], 0)


if __name__ == "__main__":
    unittest.main()
