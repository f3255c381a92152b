"""A loopback HTTP server of the tests' own that serves files with injected faults.

Paths: ``/<mode>/<arg>/<name>`` serves ``files[name]`` with
- ``ok/0``: the file as it is;
- ``truncate/N``: only the first N bytes (and a Content-Length saying so);
- ``flip/N``: byte N inverted (same size);
- ``fail/K``: HTTP 503 for the first K requests of this path, then the file;
- ``stall/S``: the headers, then a pause of S seconds before the body;
- ``drop/N``: a full Content-Length, N bytes, then the connection is closed;
- ``dropfirst/N``: like ``drop`` for the first request of this path, then the file;
- ``drip/S``: the headers, then one byte every S seconds (a link that never quite stalls);
- ``gzip/0``: the file gzip-compressed, with ``Content-Encoding: gzip`` and the compressed length.
Every request is counted per path. Bound to 127.0.0.1 on a free port; stopped by ``close()``.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests[self.path] += 1
                    count = server.requests[self.path]
                try:
                    _, mode, arg, name = self.path.split("/", 3)
                    data = server.files[name]
                except (ValueError, KeyError):
                    self.send_error(404)
                    return
                n = int(float(arg))
                if mode == "fail" and count <= n:
                    self.send_error(503, "injected failure")
                    return
                body, length, cut = data, len(data), None
                if mode == "truncate":
                    body, length = data[:n], n
                elif mode == "flip":
                    body = data[:n] + bytes([data[n] ^ 0xFF]) + data[n + 1 :]
                elif mode == "drop" or (mode == "dropfirst" and count == 1):
                    cut = n
                elif mode == "gzip":
                    body = gzip.compress(data, mtime=0)
                    length = len(body)
                self.send_response(200)
                if mode == "gzip":
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(length))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if mode == "stall":
                    time.sleep(float(arg))
                if mode == "drip":
                    self._drip(body, float(arg))
                    return
                try:
                    self.wfile.write(body if cut is None else body[:cut])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if cut is not None:
                    self.close_connection = True

            def _drip(self, body: bytes, every: float) -> None:
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(every)
                except (BrokenPipeError, ConnectionResetError):
                    server.dripped_until = time.monotonic()

        self.dripped_until = 0.0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, mode: str, arg: float | int, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/{arg}/{name}"

    def count(self, mode: str, arg: float | int, name: str) -> int:
        return self.requests[f"/{mode}/{arg}/{name}"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
