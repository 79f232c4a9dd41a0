"""IPv4 and IPv6 listeners, and the total connection limit."""
import socket
import time
import unittest

from harness import Drosera, default_config, marked, parse_response, raw_bytes


def has_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


class ListenerTest(unittest.TestCase):
    @unittest.skipUnless(has_ipv6_loopback(), "no IPv6 loopback here")
    def test_ipv6_and_ipv4_on_the_same_port(self):
        d = Drosera(default_config('[server]\nbind = ["127.0.0.1", "::1"]\n')).start()
        try:
            s = socket.create_connection(("::1", d.real), timeout=10)
            s.sendall(b"GET /?v6 HTTP/1.1\r\nHost: [::1]\r\nX-Test-Marker: v6\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            s.close()
            self.assertEqual(parse_response(data)[0], 200)
            ev = d.wait_events(marked("v6"))[0]
            self.assertEqual(ev["transaction"]["client_ip"], "::1")
            self.assertEqual(ev["transaction"]["host_ip"], "::1")
            self.assertEqual(d.request("GET", "/")[0], 200)  # and IPv4, same port
        finally:
            d.cleanup()

    def test_total_connection_limit_is_recorded(self):
        d = Drosera(default_config("[limits]\nmax_connections = 3\nmax_connections_per_ip = 100\n")).start()
        try:
            held = [socket.create_connection(("127.0.0.1", d.real), timeout=10) for _ in range(3)]
            time.sleep(0.2)
            out = d.raw(b"GET /over-total HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(parse_response(out)[0], 503)
            ev = d.wait_events(lambda e: b"/over-total" in raw_bytes(e))[0]
            self.assertIn("max_connections", ev["drosera"]["limits_hit"])
            for s in held:
                s.close()
            time.sleep(0.3)
            self.assertEqual(d.request("GET", "/")[0], 200)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
