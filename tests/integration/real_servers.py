"""The real servers drosera's personas imitate, started on loopback for differential tests:
Apache 2.4 with Debian's enabled modules (mod_deflate and its deflate.conf included) and
Debian's security.conf, and nginx 1.22 configured as Debian's nginx.conf (`gzip on`). Both serve
a copy of drosera's own files (mirror()), so that answers can be compared byte for byte."""
import calendar
import os
import re
import socket
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

APACHE = "/usr/sbin/apache2"
NGINX = "/usr/sbin/nginx"
DEBIAN_MODS = "/etc/apache2/mods-enabled"


def missing():
    """The server binaries that are not installed (the tests skip then)."""
    return [b for b in (APACHE, NGINX) if not os.path.exists(b)]


def exchange(port, raw, timeout=10):
    """Sends `raw` as it is, returns everything up to the close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                return data
            data += b
    finally:
        s.close()


def request(port, path, headers=(), method="GET", version="1.1", close=True, body=b""):
    """One request (with Connection: close unless `close` is false); (status, [(name, value)],
    body)."""
    raw = "%s %s HTTP/%s\r\nHost: localhost\r\n" % (method, path, version)
    raw += "".join("%s: %s\r\n" % h for h in headers)
    raw += "Connection: close\r\n\r\n" if close else "\r\n"
    head, _, rest = exchange(port, raw.encode("latin-1") + body).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    return status, [tuple(l.split(": ", 1)) for l in lines[1:]], rest


def neutral_page(body):
    """A server page without what differs between versions of the same server: Apache 2.4.62's
    doctype against 2.4.71's, the version in the signature, the port."""
    body = re.sub(rb"^<!DOCTYPE[^>]*>", b"<!DOCTYPE>", body)
    body = re.sub(rb"Apache/2\.4\.\d+ \(Debian\)", b"Apache", body)
    body = re.sub(rb"nginx/1\.22\.\d+", b"nginx", body)
    return re.sub(rb"(Server at \S+) Port \d+", rb"\1 Port N", body)


def mirror(port, paths, www):
    """Copies what drosera serves at `paths` on `port` into `www` (in a folder the servers'
    users can reach), with drosera's times (then
    validators are as strong on both sides: Apache weakens an ETag in a file's first second, a
    date in its first minute). Returns {path: (length, mtime)}."""
    out = {}
    for path in paths:
        status, headers, body = request(port, path)
        assert status == 200, (path, status)
        dest = www + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(body)
        mtime = calendar.timegm(
            time.strptime(dict(headers)["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT"))
        os.utime(dest, (mtime, mtime))
        out[path] = (len(body), mtime)
    for root, dirs, files in os.walk(www):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    return out


def start_apache(tmp, www, directory="Require all granted", server_name="127.0.0.1"):
    """Apache on a free loopback port serving `www` (Debian's modules, security.conf, and
    apache2.conf's denial of ".ht*" files; `directory` is its <Directory> block's
    body; `server_name` what its pages show without a Host, or for a bad head: drosera shows
    the address it listens on); returns (process, port)."""
    d = os.path.join(tmp, "apache")
    os.makedirs(os.path.join(d, "run"))
    port = harness.free_port()
    user = "User www-data\nGroup www-data\n" if os.getuid() == 0 else ""
    loads, includes = [], []
    for name in sorted(os.listdir(DEBIAN_MODS)):
        if name.startswith(("security2", "unique_id")):
            continue
        path = os.path.join(DEBIAN_MODS, name)
        if name.endswith(".load"):
            with open(path) as f:
                loads.append(f.read())
        elif name.endswith(".conf"):
            includes.append("Include " + path)
    conf = os.path.join(d, "httpd.conf")
    with open(conf, "w") as f:
        f.write("""ServerRoot "{d}"
DefaultRuntimeDir "{d}/run"
PidFile "{d}/httpd.pid"
Listen 127.0.0.1:{port}
ServerName {server_name}
{user}{loads}
{includes}
Include /etc/apache2/conf-enabled/security.conf
TypesConfig /etc/mime.types
ErrorLog "{d}/error.log"
<VirtualHost 127.0.0.1:{port}>
  ServerName {server_name}:{port}
  DocumentRoot "{www}"
</VirtualHost>
<Directory "{www}">
  {directory}
</Directory>
<FilesMatch "^\\.ht">
  Require all denied
</FilesMatch>
""".format(d=d, port=port, user=user, loads="".join(loads), includes="\n".join(includes),
           www=www, directory=directory, server_name=server_name))
    return spawn([APACHE, "-f", conf, "-DFOREGROUND"], port)


def start_nginx(tmp, www, locations=""):
    """nginx on a free loopback port serving `www` (`locations`: more of its server block);
    returns (process, port)."""
    d = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(d, "tmp"))
    port = harness.free_port()
    user = "user root root;" if os.getuid() == 0 else ""
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  gzip on;
  client_body_temp_path {d}/tmp;
  server {{ listen 127.0.0.1:{port} default_server; root {www}; server_name _; {locations} }}
}}
""".format(user=user, d=d, port=port, www=www, locations=locations))
    return spawn([NGINX, "-p", d, "-c", conf], port)


def spawn(argv, port):
    """Starts a server in a session of its own; returns (process, port) once it listens."""
    p = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        harness.wait_port(port, p)
    except RuntimeError:
        stop([p])
        raise
    return p, port


def stop(procs):
    for p in procs:
        try:
            os.killpg(p.pid, 15)
            p.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass


class AgainstRealServers(unittest.TestCase):
    """drosera (a listener per persona, apache then nginx, without the cookie bait: its
    Set-Cookie is drosera's own) beside the real Apache and nginx serving a copy of drosera's
    FILES. cls.ports names the four ("drosera-apache", "apache", ...); cls.copied is what
    mirror() returned."""
    FILES = []
    APACHE_DIRECTORY = "Require all granted"  # the <Directory> block of the served folder
    NGINX_LOCATIONS = ""  # more of nginx's server block

    @classmethod
    def setUpClass(cls):
        if missing():
            raise unittest.SkipTest("not installed (scripts/install-deps.sh test): %s" % missing())
        cls.tmp = tempfile.mkdtemp(prefix="drosera-real-")
        os.chmod(cls.tmp, 0o755)
        cls.procs = []
        listeners = "".join(
            '\n[[server.listener]]\nport = 0\nkind = "real"\npersona = "%s"\n' % p
            for p in ("apache", "nginx"))
        cls.d = harness.Drosera(harness.default_config("[traps]\ncookie = false\n", listeners))
        cls.d.start()
        ports = [l["port"] for l in cls.d.status()["listeners"]]  # in the order configured
        assert len(ports) == 2, ports
        cls.ports = {"drosera-apache": ports[0], "drosera-nginx": ports[1]}
        www = os.path.join(cls.tmp, "www")
        cls.copied = mirror(cls.ports["drosera-apache"], cls.FILES, www)
        proc, cls.ports["apache"] = start_apache(cls.tmp, www, cls.APACHE_DIRECTORY)
        cls.procs.append(proc)
        proc, cls.ports["nginx"] = start_nginx(cls.tmp, www, cls.NGINX_LOCATIONS)
        cls.procs.append(proc)

    @classmethod
    def tearDownClass(cls):
        stop(cls.procs)
        cls.d.stop()
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
