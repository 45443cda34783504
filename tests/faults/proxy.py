"""A small fault-injecting HTTP proxy on 127.0.0.1, put in front of an emulator.

The first requests get the scheduled faults — an HTTP error (500, 503 or 429 with
Retry-After), a connection reset before any response, or a response cut off mid-body — and
the rest are forwarded unchanged. Bounded: it serves only while its test runs.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Fault = str | None  # "500" | "503" | "429" | "reset" | "cut", or None to pass through


class FaultSchedule:
    def __init__(self, faults: list[Fault], *, forever: Fault = None) -> None:
        self._faults = list(faults)
        self._forever = forever
        self._lock = threading.Lock()
        self.requests = 0
        self.injected = 0

    def next(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else self._forever
            if fault is not None:
                self.injected += 1
            return fault


def _handler(upstream: str, schedule: FaultSchedule) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            return

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = schedule.next()
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                return
            if fault in ("500", "503", "429"):
                payload = b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>"
                self.send_response(int(fault))
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                if fault != "500":
                    self.send_header("Retry-After", "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                return
            upstream_connection = http.client.HTTPConnection(target.hostname, target.port,
                                                             timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = target.netloc
            upstream_connection.request(self.command, self.path, body=body, headers=headers)
            response = upstream_connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            length = (response.getheader("Content-Length") or "0" if self.command == "HEAD"
                      else str(len(data)))
            self.send_header("Content-Length", length)
            self.end_headers()
            if fault == "cut" and len(data) > 16:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                return
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

    return Handler


@contextmanager
def fault_proxy(upstream: str, schedule: FaultSchedule) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, schedule))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
