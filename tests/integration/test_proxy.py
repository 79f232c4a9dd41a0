"""Client addresses behind a trusted proxy: X-Forwarded-For and the PROXY protocol v1/v2."""
import socket
import struct
import unittest

from harness import Drosera, default_config, marked, parse_response

PROXY_LISTENERS = """
[[server.listener]]
port = 0
kind = "real"
[[server.listener]]
port = 0
kind = "fake"
proxy_protocol = true
"""


class ProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Drosera(default_config('[server]\ntrusted_proxies = ["127.0.0.1/32", "10.9.0.0/16"]\n',
                                       listeners=PROXY_LISTENERS)).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def send(self, port, data):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        s.close()
        return parse_response(out)

    def test_x_forwarded_for_from_a_trusted_proxy(self):
        status, _, _ = self.d.request("GET", "/", marker="xff",
                                      headers={"X-Forwarded-For": "198.51.100.7, 10.9.1.1"})
        self.assertEqual(status, 200)
        ev = self.d.wait_events(marked("xff"))[0]
        self.assertEqual(ev["transaction"]["client_ip"], "198.51.100.7")
        self.assertEqual(ev["drosera"]["client"]["source"], "x-forwarded-for")
        self.assertEqual(ev["drosera"]["peer"]["ip"], "127.0.0.1")

    def test_proxy_protocol_v1(self):
        status, _, _ = self.send(self.d.fake, b"PROXY TCP4 203.0.113.50 192.0.2.1 51234 80\r\n"
                                 b"GET /v1 HTTP/1.1\r\nHost: a\r\nX-Test-Marker: ppv1\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 404)
        ev = self.d.wait_events(marked("ppv1"))[0]
        self.assertEqual(ev["transaction"]["client_ip"], "203.0.113.50")
        self.assertEqual(ev["transaction"]["client_port"], 51234)
        self.assertEqual(ev["drosera"]["client"]["source"], "proxy-v1")
        self.assertEqual(ev["drosera"]["peer"]["ip"], "127.0.0.1")

    def test_proxy_protocol_v2_ipv6(self):
        sig = b"\r\n\r\n\x00\r\nQUIT\n"
        src = socket.inet_pton(socket.AF_INET6, "2001:db8::42")
        dst = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
        payload = src + dst + struct.pack("!HH", 40000, 443)
        header = sig + bytes([0x21, 0x21]) + struct.pack("!H", len(payload)) + payload
        status, _, _ = self.send(self.d.fake, header +
                                 b"GET /v2 HTTP/1.1\r\nHost: a\r\nX-Test-Marker: ppv2\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 404)
        ev = self.d.wait_events(marked("ppv2"))[0]
        self.assertEqual(ev["transaction"]["client_ip"], "2001:db8::42")
        self.assertEqual(ev["drosera"]["client"]["source"], "proxy-v2")

    def test_missing_proxy_header_is_noted_and_served(self):
        status, _, _ = self.send(self.d.fake, b"GET /noproxy HTTP/1.1\r\nHost: a\r\nX-Test-Marker: noproxy\r\n"
                                 b"Connection: close\r\n\r\n")
        self.assertEqual(status, 404)
        ev = self.d.wait_events(marked("noproxy"))[0]
        self.assertIn("missing_proxy_header", ev["drosera"]["anomalies"])
        self.assertEqual(ev["transaction"]["client_ip"], "127.0.0.1")


class UntrustedProxyTest(unittest.TestCase):
    def test_x_forwarded_for_from_anyone_else_is_only_recorded(self):
        d = Drosera(default_config()).start()
        try:
            d.request("GET", "/", marker="spoof", headers={"X-Forwarded-For": "1.2.3.4"})
            ev = d.wait_events(marked("spoof"))[0]
            self.assertEqual(ev["transaction"]["client_ip"], "127.0.0.1")
            self.assertEqual(ev["drosera"]["client"]["source"], "socket")
            self.assertEqual(ev["transaction"]["request"]["headers"]["X-Forwarded-For"], "1.2.3.4")
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
