"""ECS outputs wired into drosera run (issue 7): NDJSON files and the _bulk output to a local
server that answers like Elasticsearch's bulk API (whole-request 429s, per-item 201/409), with
drosera killed -9 midway: every event indexed exactly once, every NDJSON line once."""
import gzip
import http.server
import json
import os
import threading
import time
import unittest

from harness import Drosera, default_config


class FakeElasticsearch:
    """_index_template and _bulk (create only), on 127.0.0.1. Every third _bulk request is
    refused whole with 429 so the output has to retry."""

    def __init__(self):
        self.docs = {}  # _id -> (index, document)
        self.created = 0
        self.conflicts = 0
        self.bulk_requests = 0
        self.templates = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                return data

            def do_PUT(self):
                data = self.body()
                if self.path.startswith("/_index_template/"):
                    json.loads(data)
                    with outer.lock:
                        outer.templates.append(self.path)
                    return self.reply(200, {"acknowledged": True})
                self.reply(404, {"error": "no such route " + self.path})

            def do_GET(self):
                self.reply(200, {"version": {"number": "8.11.0"}, "tagline": "You Know, for Search"})

            def do_POST(self):
                data = self.body()
                if not self.path.startswith("/_bulk"):
                    return self.reply(404, {"error": "no such route " + self.path})
                with outer.lock:
                    outer.bulk_requests += 1
                    if outer.bulk_requests % 3 == 0:
                        return self.reply(429, {"error": "es_rejected_execution_exception"})
                    lines = [l for l in data.split(b"\n") if l.strip()]
                    items = []
                    for action, doc in zip(lines[0::2], lines[1::2]):
                        meta = json.loads(action)["create"]
                        json.loads(doc)
                        if meta["_id"] in outer.docs:
                            outer.conflicts += 1
                            items.append({"create": {"_id": meta["_id"], "status": 409,
                                                     "error": {"type": "version_conflict_engine_exception"}}})
                        else:
                            outer.created += 1
                            outer.docs[meta["_id"]] = (meta["_index"], json.loads(doc))
                            items.append({"create": {"_id": meta["_id"], "status": 201}})
                    errors = any(i["create"]["status"] >= 300 for i in items)
                self.reply(200, {"took": 1, "errors": errors, "items": items})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def marked(self, marker):
        with self.lock:
            return [d for _, d in self.docs.values()
                    if marker in json.dumps(d.get("url", {})) or marker in json.dumps(d.get("http", {}))]

    def close(self):
        self.server.shutdown()


def ndjson_lines(data_dir):
    d = os.path.join(data_dir, "ecs")
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("ecs.ndjson"):
            with open(os.path.join(d, name), "rb") as f:
                for line in f:
                    out.append(json.loads(line))  # every line whole and valid
    return out


def send(d, marker, n):
    for i in range(n):
        status, _, _ = d.request("GET", "/search?q=%%27%%20union%%20select%%201--&m=%s-%d" % (marker, i))
        assert status in (200, 404), status


class EcsOutputsTest(unittest.TestCase):
    def test_bulk_and_ndjson_index_every_event_once_across_kill_9(self):
        es = FakeElasticsearch()
        cfg = default_config(
            "[ecs.ndjson]\nenabled = true\npoll_interval_s = 0.1\n"
            "[ecs.bulk]\nenabled = true\nurl = \"http://127.0.0.1:%d\"\n"
            "flush_interval_s = 0.1\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.2\nbatch_docs = 7\n" % es.port)
        d = Drosera(cfg, command="run")
        try:
            d.start()
            send(d, "ecsone", 30)
            d.wait_api("/api/v1/status", lambda s: s["outputs"]["ecs_bulk"]["cursor"] >= 30 and
                       s["outputs"]["ecs_ndjson"]["cursor"] >= 30)
            status = d.api("/api/v1/status")
            self.assertTrue(status["outputs"]["ecs_bulk"]["template_installed"])
            self.assertEqual(es.templates, ["/_index_template/drosera"])
            self.assertEqual(len(es.marked("ecsone")), 30)
            send(d, "ecsmid", 30)
            d.kill()  # with these 30 somewhere between the journal, the store and the outputs
            d.start()
            send(d, "ecstwo", 30)
            deadline = time.time() + 60
            while time.time() < deadline and (len(es.marked("ecstwo")) < 30 or
                                              len(es.marked("ecsmid")) < 30):
                time.sleep(0.2)
            self.assertEqual(len(es.marked("ecsone")), 30)
            self.assertEqual(len(es.marked("ecsmid")), 30)
            self.assertEqual(len(es.marked("ecstwo")), 30)
            stored = d.api("/api/v1/status")["store"]["events"]
            self.assertEqual(len(es.docs), stored, "Elasticsearch holds a different number of events")
            self.assertEqual(es.created, stored, "an event was created twice")
            self.assertGreater(es.bulk_requests, 2)  # and so at least one 429 was retried
            for index, doc in es.docs.values():
                self.assertRegex(index, r"^drosera-\d{4}\.\d{2}\.\d{2}$")
                self.assertEqual(doc["observer"]["type"], "honeypot")
                self.assertIn("@timestamp", doc)
            attack = es.marked("ecstwo")[0]
            self.assertEqual(attack["event"]["kind"], "alert")
            self.assertTrue(attack["rule"]["id"])
            d.wait_api("/api/v1/status", lambda s: s["outputs"]["ecs_ndjson"]["cursor"] >= stored)
            lines = ndjson_lines(d.data_dir)
            ids = [l["event"]["id"] for l in lines]
            self.assertEqual(len(ids), stored)
            self.assertEqual(len(set(ids)), stored, "an NDJSON line is written twice")
        finally:
            d.cleanup()
            es.close()

    def test_a_bad_geoip_database_is_a_clear_error(self):
        d = Drosera(default_config("[ecs.geoip]\ncity_db = \"/nonexistent/GeoLite2-City.mmdb\"\n"),
                    command="run")
        try:
            with self.assertRaises(RuntimeError) as e:
                d.start(timeout=20)
            self.assertIn("ecs.geoip", str(e.exception))
            self.assertIn("/nonexistent/GeoLite2-City.mmdb", str(e.exception))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
