"""IPv4 and IPv6 listeners, the total connection limit, and TLS as each persona's server."""
import socket
import ssl
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
            for s in held:  # a byte: the Apache persona's kernel holds a silent connection back
                s.sendall(b"G")
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


TLS_PERSONA_LISTENERS = """
[[server.listener]]
port = 0
kind = "real"
[[server.listener]]
port = 0
kind = "real"
tls = true
persona = "apache"
[[server.listener]]
port = 0
kind = "real"
tls = true
persona = "nginx"
"""


class TlsPersonaTest(unittest.TestCase):
    """The TLS handshake as Debian's Apache 2.4 (mod_ssl: SSLCipherSuite HIGH:!aNULL, the
    client's cipher order, no session tickets) and nginx 1.22 (HIGH:!aNULL:!MD5, the server's
    order, tickets for 300 s) make it, measured with openssl s_client and nmap's
    ssl-enum-ciphers against the real servers on loopback."""

    @classmethod
    def setUpClass(cls):
        cls.d = Drosera(default_config(listeners=TLS_PERSONA_LISTENERS)).start()
        cls.apache, cls.nginx = cls.d.ports["tls"]

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.d.cleanup()
        assert rc == 0, "drosera did not exit cleanly: %s" % rc

    @staticmethod
    def client(alpn=None, ciphers=None, tls12=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def handshake(self, port, ctx=None, session=None, **client):
        """One request over TLS; returns the SSL socket's (ALPN, cipher, session, reused)."""
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s = (ctx or self.client(**client)).wrap_socket(raw, server_hostname="localhost",
                                                           session=session)
        except (ssl.SSLError, OSError):
            raw.close()
            raise
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        result = (s.selected_alpn_protocol(), s.cipher()[0], s.session, s.session_reused)
        s.close()
        return result

    def test_alpn_selects_http11_when_offered(self):
        for port in (self.apache, self.nginx):
            self.assertEqual(self.handshake(port, alpn=["h2", "http/1.1"])[0], "http/1.1")
            self.assertEqual(self.handshake(port, alpn=["http/1.0", "http/1.1"])[0], "http/1.1")
            self.assertIsNone(self.handshake(port)[0])  # no ALPN offered, none chosen

    def test_alpn_without_http11(self):
        # Apache answers http/1.1 whatever was offered: an OpenSSL client refuses that answer.
        for offer in (["h2"], ["http/1.0"]):
            with self.assertRaises(ssl.SSLError) as cm:
                self.handshake(self.apache, alpn=offer)
            self.assertIn("BAD_EXTENSION", str(cm.exception).upper())
        # nginx: its own order of http/1.1, http/1.0, http/0.9, else a fatal alert.
        self.assertEqual(self.handshake(self.nginx, alpn=["http/1.0"])[0], "http/1.0")
        with self.assertRaises(ssl.SSLError) as cm:
            self.handshake(self.nginx, alpn=["h2"])
        self.assertIn("NO APPLICATION PROTOCOL", str(cm.exception).upper().replace("_", " "))

    def test_cipher_preference_of_each_persona(self):
        client_order = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-GCM-SHA384"
        # Apache takes the client's first choice, nginx its own.
        self.assertEqual(self.handshake(self.apache, ciphers=client_order, tls12=True)[1],
                         "ECDHE-ECDSA-AES128-SHA")
        self.assertEqual(self.handshake(self.nginx, ciphers=client_order, tls12=True)[1],
                         "ECDHE-ECDSA-AES256-GCM-SHA384")

    def test_high_cipher_list(self):
        # In HIGH, not in OpenSSL's DEFAULT: the real servers offer them (15 suites for an
        # ECDSA certificate, not DEFAULT's 7).
        for port in (self.apache, self.nginx):
            for cipher in ("ECDHE-ECDSA-CAMELLIA256-SHA384", "ECDHE-ECDSA-ARIA256-GCM-SHA384",
                           "ECDHE-ECDSA-AES256-CCM"):
                self.assertEqual(self.handshake(port, ciphers=cipher, tls12=True)[1], cipher)

    def test_session_tickets(self):
        # TLS 1.2: nginx hands out a ticket (lifetime hint 300 s, ssl_session_timeout 5m);
        # Apache (SSLSessionTickets off) resumes by session id instead.
        for port, ticket in ((self.nginx, True), (self.apache, False)):
            ctx = self.client(tls12=True)
            session = self.handshake(port, ctx)[2]
            self.assertEqual(session.has_ticket, ticket, port)
            self.assertEqual(session.ticket_lifetime_hint, 300 if ticket else 0)
            self.assertTrue(self.handshake(port, ctx, session=session)[3])
        # TLS 1.3: both send tickets good for 300 s.
        for port in (self.apache, self.nginx):
            session = self.handshake(port)[2]
            self.assertTrue(session.has_ticket)
            self.assertEqual(session.ticket_lifetime_hint, 300)

if __name__ == "__main__":
    unittest.main()
