"""A token introspection endpoint (RFC 7662 style) for Dovecot's ``oauth2`` passdb in tests.

A ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a daemon thread of the test
process. Dovecot POSTs ``token=TOKEN&client_id=&client_secret=`` to ``/introspect`` at each
XOAUTH2/OAUTHBEARER login (``introspection_mode = post``; no caching) and reads the JSON:

- a token from :meth:`TokenEndpoint.grant`: ``{"active": true, "username": USER}``
  (Dovecot accepts it when USER equals the SASL user, case-insensitively);
- a token from :meth:`TokenEndpoint.expired` or :meth:`TokenEndpoint.expire`, and any
  unknown token: ``{"active": false}`` (Dovecot: authentication failed);
- while :meth:`TokenEndpoint.fail_with` holds a status: that HTTP status and no JSON
  (Dovecot: a *temporary* failure, ``-ERR [SYS/TEMP]`` / ``NO [UNAVAILABLE]``).

Facts from the shared note "dovecot-imap-oauth2".
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["Introspection", "TokenEndpoint"]


@dataclass(frozen=True)
class Introspection:
    """One request Dovecot made: the token it asked about and what it was told."""

    token: str
    status: int
    answer: dict[str, object] | None
    headers: dict[str, str]


class TokenEndpoint:
    """See the module docstring. ``url`` is what goes into ``introspection_url``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, bool]] = {}
        self._failure: int | None = None
        self.requests: list[Introspection] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Dovecot keeps the connection open

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                token = (form.get("token") or [""])[0]
                status, answer = endpoint._answer(token)
                with endpoint._lock:
                    endpoint.requests.append(
                        Introspection(token, status, answer, dict(self.headers.items()))
                    )
                body = json.dumps(answer).encode() if answer is not None else b"unavailable"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the requests list is the record

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/introspect"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _answer(self, token: str) -> tuple[int, dict[str, object] | None]:
        with self._lock:
            if self._failure is not None:
                return self._failure, None
            user, active = self._tokens.get(token, ("", False))
        if not active:
            return 200, {"active": False}
        return 200, {"active": True, "username": user}

    # -- what the test registers ------------------------------------------------------------
    def grant(self, user: str, token: str | None = None) -> str:
        """A token that is valid for ``user`` (a new random one unless given)."""
        token = token or f"good-{secrets.token_urlsafe(16)}"
        with self._lock:
            self._tokens[token] = (user, True)
        return token

    def expired(self, user: str) -> str:
        """A token the endpoint knows for ``user`` but reports inactive (expired)."""
        token = f"expired-{secrets.token_urlsafe(16)}"
        with self._lock:
            self._tokens[token] = (user, False)
        return token

    def expire(self, token: str) -> None:
        """From now on ``token`` is inactive."""
        with self._lock:
            user, _active = self._tokens.get(token, ("", False))
            self._tokens[token] = (user, False)

    def fail_with(self, status: int | None) -> None:
        """Answer every request with HTTP ``status`` (e.g. 500) until called with None."""
        with self._lock:
            self._failure = status

    def asked(self, token: str) -> int:
        """How many times Dovecot asked about ``token``."""
        with self._lock:
            return sum(1 for r in self.requests if r.token == token)

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
