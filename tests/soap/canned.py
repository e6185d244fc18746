"""A small HTTP server on 127.0.0.1 whose every answer the test decides.

    def answer(req: Request) -> Response:
        return Response(200, b"<soap:Envelope …>", {"Content-Type": "text/xml"})

    with Canned(answer) as server:
        ...  # point a source at server.url("/svc?wsdl")

It records every request (method, path, headers, body). A response can be sent chunked,
or as raw bytes after the headers (``raw``), for framing the test wants to control.
"""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: send the body with ``Transfer-Encoding: chunked``, in chunks of this many bytes
    chunked: int = 0


Handler = Callable[[Request], Response]


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that stops reading (a size cap reached) is what some tests want
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Canned:
    """Serves ``handler``'s answers from a thread; a context manager."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        owner = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.requests.append(req)
                resp = owner.handler(req)
                self.send_response(resp.status)
                headers = {"Content-Type": "text/xml; charset=utf-8", **resp.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if resp.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    data = resp.body
                    for i in range(0, len(data), resp.chunked):
                        piece = data[i : i + resp.chunked]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(resp.body)))
                    self.end_headers()
                    self.wfile.write(resp.body)

            do_GET = do_POST = _serve  # noqa: N815

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def posts(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def __enter__(self) -> Canned:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
