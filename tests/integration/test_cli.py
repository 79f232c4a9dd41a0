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
