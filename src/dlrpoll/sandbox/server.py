"""What every sandbox server shares: a ``socketserver`` served from a daemon thread on
127.0.0.1, started and stopped explicitly or as a context manager."""

from __future__ import annotations

import logging
import socketserver
import threading
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


class SandboxServer:
    """Base of the sandbox servers. A subclass builds its server in :meth:`make_server` and
    may let stalled requests go in :meth:`release` before a stop. ``port=0`` picks a free
    port; :attr:`port` holds the real one once started."""

    #: how the server names itself in logs and thread names
    label = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    def make_server(self) -> socketserver.TCPServer:
        """The bound server (not yet serving)."""
        raise NotImplementedError

    def release(self) -> None:
        """Let requests held on purpose go; called first by :meth:`stop`."""

    def start(self) -> Self:
        """Bind and serve in a background thread; returns ``self``."""
        server = self.make_server()
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within this
            name=f"{self.label}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.debug("%s listening on %s:%d", self.label, self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; idempotent."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
