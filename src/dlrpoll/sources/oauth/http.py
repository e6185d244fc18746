"""The HTTP session the token sources give msal and google-auth: TLS verified against
``ca_file`` when one is configured, and a timeout on every request.

Why not ``session.verify = ca_file``: requests lets ``REQUESTS_CA_BUNDLE`` (and
``CURL_CA_BUNDLE``) from the environment override a session's ``verify``; only a per-request
``verify`` wins over them, so a configured ``ca_file`` is passed with every request.
"""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["TokenSession"]


class TokenSession(requests.Session):
    """A ``requests.Session`` with a fixed CA file (or the default trust) and timeout."""

    def __init__(self, ca_file: str | None, timeout: float) -> None:
        super().__init__()
        self._ca_file = ca_file
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if self._ca_file:
            kwargs["verify"] = self._ca_file
        kwargs["timeout"] = self._timeout
        return super().request(method, url, *args, **kwargs)
