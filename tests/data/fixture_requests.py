#!/usr/bin/env python3
"""Sends the fixture requests of make_fixtures.sh to one server, one connection each, raw bytes.

Usage: fixture_requests.py HOST PORT SET      (SET: apache | nginx | drosera | drosera-fake)
       fixture_requests.py --count SET        prints how many requests SET sends
"""
import socket
import sys
import time

UA = b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HOST = b"shop.example.com"


def req(head, body=b""):
    return head.replace(b"\n", b"\r\n") + b"\r\n" + body


COMMON = [
    # benign
    req(b"GET /index.html HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
        b"\nAccept: text/html\nConnection: close\n"),
    # SQL injection: 942100 (libinjection) and friends
    req(b"GET /products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20"
        b" HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA + b"\nConnection: close\n"),
    # XSS in a form body: 941xxx
    req(b"POST /comment.php HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
        b"\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 52\n"
        b"Connection: close\n",
        b"name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    # scanner User-Agent (913100), header names in lower case as HTTP/2 clients send them
    req(b"GET /admin/ HTTP/1.1\nhost: " + HOST + b"\nuser-agent: Mozilla/5.00 (Nikto/2.1.6) "
        b"(Evasions:None) (Test:000003)\nconnection: close\n"),
    # path traversal: 930xxx
    req(b"GET /download.php?file=../../../../etc/passwd HTTP/1.1\nHost: " + HOST +
        b"\nUser-Agent: " + UA + b"\nConnection: close\n"),
    # bytes that are not UTF-8 in the target and in a header value
    req(b"GET /caf\xe9.php?q=\xff\xfe%C0%AF HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
        b"\nX-Note: d\xe9j\xe0 vu\nConnection: close\n"),
    # XSS whose value forges the audit log's [key "value"] metadata
    req(b"GET /search.php?q=%3Cscript%3E%22%5D%20%5Bid%20%22999999%22%5D%20%5Bseverity%20%22"
        b"EMERGENCY%22%5D%20%5Bmsg%20%22forged%3C%2Fscript%3E HTTP/1.1\nHost: " + HOST +
        b"\nUser-Agent: " + UA + b"\nConnection: close\n"),
    # XSS in the path with a raw quote: libmodsecurity 3 writes [uri "..."] unescaped
    req(b"GET /search/\"><script>alert(1)</script> HTTP/1.1\nHost: " + HOST +
        b"\nUser-Agent: " + UA + b"\nConnection: close\n"),
]

SETS = {
    "apache": COMMON,
    "nginx": COMMON,
    "drosera": COMMON + [
        req(b"GET /robots.txt HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
            b"\nConnection: close\n"),
        # the robots.txt bait (make_fixtures.sh sets its path), with credentials
        req(b"GET /db-backup-old/ HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
            b"\nAuthorization: Basic YWRtaW46aHVudGVyMg==\nConnection: close\n"),
    ],
    "drosera-fake": [
        req(b"GET /manager/html HTTP/1.1\nHost: " + HOST + b"\nUser-Agent: " + UA +
            b"\nConnection: close\n"),
    ],
}


def send(host, port, raw):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(raw)
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break


def main():
    if sys.argv[1] == "--count":
        print(len(SETS[sys.argv[2]]))
        return
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for raw in SETS[name]:
        send(host, port, raw)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
