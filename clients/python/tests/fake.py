"""Test helpers: a scriptable fake app (HTTP) and a fake batcher (TCP); the repo's FNV vectors."""

import json
import os
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # clients/python, so `import chariots` works uninstalled
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(REPO, "common", "src", "test", "resources", "fnv1a64.tsv")


def fnv_vectors():
    """(key, value, unsigned decimal, hex) rows of the repository's test vectors."""
    rows = []
    with open(VECTORS, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            key, value, dec, hx = line.split("\t")
            rows.append((key, value, int(dec), hx))
    return rows


class Request:
    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.raw = method, path, headers, body

    @property
    def json(self):
        return json.loads(self.raw.decode("utf-8"))


DROP = object()  # answer nothing, close the connection


class FakeApp:
    """An HTTP server answering with ``handler(request) -> (status, body[, headers])`` or DROP;
    every request is kept in ``requests``."""

    def __init__(self, handler=None):
        self.requests = []
        self.handler = handler or (lambda r: (500, {"error": "no handler"}))
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, self.path, dict(self.headers), self.rfile.read(n) if n else b"")
                fake.requests.append(req)
                out = fake.handler(req)
                if out is DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if callable(out):  # streams: out(self) writes the response itself
                    try:
                        out(self)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                status, body = out[0], out[1]
                headers = out[2] if len(out) > 2 else {}
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeBatcher:
    """A TCP server that reads frames and keeps them as (type, payload bytes)."""

    def __init__(self):
        self.frames = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        conn, _ = self.sock.accept()
        buf = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        while buf:
            (n,) = struct.unpack(">I", buf[:4])
            self.frames.append((buf[4:5], buf[5:4 + n]))
            buf = buf[4 + n:]
        conn.close()
        self.done.set()

    def close(self):
        self.sock.close()
