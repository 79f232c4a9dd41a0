"""The drosera command line: configuration errors name key and line; defaults; missing CRS."""
import os
import subprocess
import tempfile
import unittest

from harness import BIN, Drosera, default_config


def run(*args, timeout=60):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drosera-cli-")

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_version_and_help(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"drosera \d+\.\d+\.\d+")
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("run", "sensor", "config", "status"):
            self.assertIn(cmd, r.stdout)

    def test_default_config_is_valid_and_commented(self):
        r = run("config", "default")
        self.assertEqual(r.returncode, 0)
        p = self.write("default.toml", r.stdout)
        self.assertEqual(run("config", "check", p).returncode, 0)
        for key in ("paranoia_level", "crs_dir", "extra_rules", "port", "max_body_bytes"):
            lines = [l for l in r.stdout.splitlines() if l.startswith(key + " =")]
            self.assertTrue(lines, key)
            self.assertIn("#", lines[0], "no comment on " + key)

    def test_unknown_key_names_key_and_line(self):
        p = self.write("bad.toml", "[engine]\nparanoia_level = 2\nparanoia_levle = 3\n")
        r = run("config", "check", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.toml:3", r.stderr)
        self.assertIn("engine.paranoia_levle", r.stderr)
        self.assertIn("did you mean 'paranoia_level'", r.stderr)

    def test_bad_value_names_key_and_line(self):
        p = self.write("bad.toml", "[server]\npersona = \"apache\"\n\n[engine]\nparanoia_level = 9\n")
        r = run("config", "check", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.toml:5", r.stderr)
        self.assertIn("engine.paranoia_level", r.stderr)
        p = self.write("bad2.toml", "[limits]\nmax_body_bytes = \"lots\"\n")
        r = run("config", "check", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("limits.max_body_bytes", r.stderr)

    def test_sensor_refuses_a_bad_config_and_starts_nothing(self):
        p = self.write("bad.toml", "[server]\nbind = \"0.0.0.0\"\n")
        r = run("sensor", "--config", p, "--data-dir", os.path.join(self.tmp, "d"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("server.bind", r.stderr)

    def test_a_folder_is_not_a_configuration_file(self):
        # A folder once read as an empty file: "valid", and drosera ran on every default.
        data = os.path.join(self.tmp, "data")
        for args in (("config", "check", self.tmp), ("run", "-c", self.tmp + "/", "-d", data),
                     ("sensor", "--config", self.tmp, "--data-dir", data)):
            r = run(*args, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("configuration file %s" % args[2], r.stderr)
            self.assertIn("is a folder, not a regular file", r.stderr)
            self.assertFalse(os.path.exists(data), "started although the file was a folder")

    def test_proxy_protocol_needs_trusted_proxies(self):
        # Accepted once: every request on the port was then a 400 recorded as method PROXY.
        listeners = "[[server.listener]]\nport = 0\nkind = \"real\"\nproxy_protocol = true\n"
        p = self.write("proxy.toml", default_config(listeners=listeners))
        r = run("config", "check", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ": server.listener.proxy_protocol is true on port 0", r.stderr)
        self.assertIn("server.trusted_proxies is empty", r.stderr)
        p = self.write("proxy_ok.toml", default_config('[server]\ntrusted_proxies = ["127.0.0.1"]\n',
                                                       listeners=listeners))
        r = run("config", "check", p)
        self.assertEqual(r.returncode, 0, r.stderr)

    # Each passed `config check` once and failed only at start (or after binding), or named
    # another key or none. (extra TOML, listeners or None for the test ones, expected message,
    # text the message must not hold)
    CHECKED_BEFORE_START = [
        ('[server]\nbind = ["localhost"]\n', None,
         'server.bind: "localhost" is not an IP address', None),
        ('[server]\ntrusted_proxies = ["10.0.0.0/33"]\n', None,
         'server.trusted_proxies: "10.0.0.0/33": the prefix of an IPv4 block is at most /32', None),
        ('[collector]\nlisten = "127.0.0.1:99999"\n', None,
         'collector.listen: the port must be a number from 0 to 65535 (got "127.0.0.1:99999")',
         None),
        ('[collector]\nlisten = "127.0.0.1:19080abc"\n', None,
         'collector.listen: the port must be a number from 0 to 65535 (got "127.0.0.1:19080abc")',
         None),
        ('[collector]\nlisten = "localhost:19080"\n', None,
         'collector.listen: the address must be an IP address', "server.bind"),
        ('[collector]\nstore = "postgres"\n', None,
         'collector.postgres: a connection string is needed with collector.store = "postgres"',
         None),
        ('[general]\nuser = "nosuchuser"\n', None, "general.user: no such user 'nosuchuser'",
         None),
        ("", '[[server.listener]]\nport = 0\nkind = "real"\nsite = "/nonexistent"\n',
         'server.listener.site: no such folder "/nonexistent" (the listener on port 0)',
         "site.root"),
        ('[collector]\ntls = true\ntls_cert = "/nonexistent.pem"\n', None,
         "collector.tls_cert and collector.tls_key must be set together", None),
        ('[collector]\ntls = true\ntls_cert = "/nonexistent.pem"\ntls_key = "/nonexistent.key"\n',
         None, 'collector.tls_cert: no such file "/nonexistent.pem"', None),
        ('[server]\ntls_cert = "/nonexistent.pem"\ntls_key = "/nonexistent.key"\n', None,
         'server.tls_cert: no such file "/nonexistent.pem"', None),
        ('[shipper]\nurl = "not a url"\n', None,
         'shipper.url: must start with https:// or http:// (got "not a url")', None),
        ('[shipper]\nurl = "http://collector.example:9080/api/v1/ingest"\ntoken = "t0ken"\n',
         None, "shipper.url: plain http would send the token (shipper.token) in clear", "t0ken\""),
        ('[misp]\ntlp = "red"\n', None, 'misp.tlp: must be a tlp:* tag', None),
        ('[limits]\nmax_body_bytes = 99999999999999999999\n', None,
         "limits.max_body_bytes: integer 99999999999999999999 is out of range", None),
    ]

    def test_config_errors_are_found_before_anything_starts(self):
        data = os.path.join(self.tmp, "data")
        for extra, listeners, want, unwanted in self.CHECKED_BEFORE_START:
            with self.subTest(config=extra or listeners):
                if listeners is None:
                    p = self.write("case.toml", default_config(extra))
                else:
                    p = self.write("case.toml", default_config(extra, listeners=listeners))
                r = run("config", "check", p)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(want, r.stderr)
                self.assertIn(p + ":", r.stderr)  # the file is named
                if unwanted:
                    self.assertNotIn(unwanted, r.stderr)
                # The same at start, before a port is bound or the data folder made.
                r = run("run", "--config", p, "--data-dir", data, timeout=30)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("configuration error: " + p + ":", r.stderr)
                self.assertIn(want, r.stderr)
                self.assertFalse(os.path.exists(data))

    def test_missing_crs_names_path_and_package(self):
        d = Drosera(default_config('[engine]\ncrs_dir = "/nonexistent/crs"\n'))
        try:
            with self.assertRaises(RuntimeError) as ctx:
                d.start(timeout=20)
            msg = str(ctx.exception)
            self.assertIn("/nonexistent/crs/rules", msg)
            self.assertIn("modsecurity-crs", msg)
        finally:
            d.cleanup()

    def test_port_in_use_is_named(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            d = Drosera(default_config(listeners="[[server.listener]]\nport = %d\nkind = \"real\"\n" % port))
            with self.assertRaises(RuntimeError) as ctx:
                d.start(timeout=20)
            self.assertIn(str(port), str(ctx.exception))
            d.cleanup()
        finally:
            s.close()

    def test_status_command_prints_the_running_status(self):
        d = Drosera(default_config()).start()
        try:
            r = run("status", "--data-dir", d.data_dir)
            self.assertEqual(r.returncode, 0)
            self.assertIn('"running":true', r.stdout)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
